"""Forgetting addresses on erasure and shop redaction, the context constant, and the deprecated old names."""

import importlib
import sys

import pytest
from sqlalchemy import select

from shopprivacy.email import EMAIL_ADDRESS_CONTEXT
from shopprivacy.email.pages import EmailPages
from shopprivacy.email.tables import email_subjects


def _rows(sp):
    with sp.store.begin(write=False) as conn:
        return {r.subject: r for r in conn.execute(select(email_subjects)).all()}


def test_forget_subject_blanks_one_address_and_keeps_the_suppression(esp):
    esp.email.unsubscribe_url("jane@example.com", "newsletter", customer_ref="c1")
    esp.email.unsubscribe_url("joe@example.com", "newsletter", customer_ref="c2")
    esp.email.suppress("jane@example.com", "newsletter")
    jane, joe = esp.email.subjects.subject_of("jane@example.com"), esp.email.subjects.subject_of("joe@example.com")
    with esp.store.begin() as conn:
        assert esp.email.subjects.forget(conn, jane) == 1
    rows = _rows(esp)
    assert rows[jane].address is None and rows[jane].customer_ref is None
    assert rows[joe].address is not None and rows[joe].customer_ref == "c2"
    assert esp.email.is_suppressed("jane@example.com", "newsletter")
    with esp.store.begin() as conn:
        assert esp.email.subjects.forget(conn, "unknown-subject") == 0


def test_forget_all_blanks_every_address_and_keeps_suppressions(esp):
    for address in ("jane@example.com", "joe@example.com"):
        esp.email.unsubscribe_address(address, "newsletter")
    with esp.store.begin() as conn:
        assert esp.email.subjects.forget_all(conn) == 2
    assert all(r.address is None and r.customer_ref is None for r in _rows(esp).values())
    assert esp.email.is_suppressed("joe@example.com", "newsletter")


def test_stored_address_is_encrypted_under_the_shared_context(esp):
    esp.email.unsubscribe_url("jane@example.com", "newsletter")
    row = _rows(esp)[esp.email.subjects.subject_of("jane@example.com")]
    assert esp.fields.decrypt(row.address, context=EMAIL_ADDRESS_CONTEXT, row=row.subject) == "jane@example.com"
    assert EMAIL_ADDRESS_CONTEXT == "sp_email_subjects.address"  # stored tokens are bound to it: never change it


def test_old_pages_module_warns_and_re_exports():
    sys.modules.pop("shopprivacy.web.email_pages", None)
    with pytest.warns(DeprecationWarning, match=r"shopprivacy\.email\.pages"):
        old = importlib.import_module("shopprivacy.web.email_pages")
    assert old.EmailPages is EmailPages


def test_moved_flat_names_warn_and_still_work(esp):
    token = esp.email.preferences_url("jane@example.com").split("?t=", 1)[1]
    with pytest.warns(DeprecationWarning, match=r"sp\.email\.preferences\.read"):
        read = esp.email.read_preferences
    assert read(token) == esp.email.preferences.read(token)
    with pytest.warns(DeprecationWarning, match=r"sp\.email\.settings\.mailing_list"):
        assert esp.email.mailing_list("offers").name("en") == "Offers"
    with pytest.raises(AttributeError):
        esp.email.no_such_name  # noqa: B018


def test_email_keeps_a_small_public_surface(esp):
    public = {n for n in dir(esp.email) if not n.startswith("_")}
    # 15 methods and 7 parts. importing is a part already; headers_for_many stays beside headers (a one-line
    # delegation) because docs/email.md and docs/performance.md document it as sp.email.headers_for_many.
    assert len(public) <= 22, sorted(public)
