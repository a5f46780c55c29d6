"""The consent state the integrations put on a request (``sp.consent.request_state``): the cookie and ``Sec-GPC``,
with the categories the signed-in customer's rights requests refuse denied as well."""

from __future__ import annotations

import pytest

from shopprivacy import ShopPrivacy
from shopprivacy.consent import Consent
from shopprivacy.consent.service import Choice
from shopprivacy.errors import ConfigurationError

JANE = {"email": "jane@example.com"}


def _cookie_header(sp: ShopPrivacy) -> str:
    _, set_cookie = sp.consent.record(Choice(granted=frozenset({"analytics", "sale_of_data"}), method="custom"))
    return "cart=1; " + set_cookie.split(";", 1)[0]


def _opt_out_of_sale(sp: ShopPrivacy, identity: dict[str, str]) -> None:
    with sp.store.begin() as conn:
        sp.restrictions.place(conn, sp.restrictions.keys(identity), "opt_out_sale", request_id=None, now=sp.clock())


def test_a_visitor_gets_the_state_of_the_cookie_and_gpc(sp: ShopPrivacy) -> None:
    header = _cookie_header(sp)
    _opt_out_of_sale(sp, JANE)
    for identity in (None, {}):
        state = sp.consent.request_state(header, "", identity=identity)
        assert state == sp.consent.state_from_header(header) and state.allows("sale_of_data")
    assert not sp.consent.request_state(header, "1").allows("sale_of_data")  # GPC applies


def test_a_signed_in_customers_opt_out_of_sale_is_denied_whatever_the_cookie_says(sp: ShopPrivacy) -> None:
    header = _cookie_header(sp)
    _opt_out_of_sale(sp, JANE)
    _opt_out_of_sale(sp, {"customer_id": "42"})
    for identity in (JANE, {"email": "JANE@example.com"}, {"customer_id": "42"}):
        state = sp.consent.request_state(header, identity=identity)
        assert state.denied == frozenset({"sale_of_data"}), identity
        assert state.allows("analytics") and not state.allows("sale_of_data")
    other = sp.consent.request_state(header, identity={"email": "john@example.com", "customer_id": "43"})
    assert other.denied == frozenset() and other.allows("sale_of_data")


def test_a_quoted_header_is_parsed_with_the_given_parser(sp: ShopPrivacy) -> None:
    from werkzeug.http import parse_cookie

    header = 'note="a;b"; ' + _cookie_header(sp)
    _opt_out_of_sale(sp, JANE)
    state = sp.consent.request_state(header, identity=JANE, parse=lambda: parse_cookie(header))
    assert state.allows("analytics") and not state.allows("sale_of_data")


def test_a_consent_without_restrictions_refuses_a_signed_in_customer(sp: ShopPrivacy) -> None:
    bare = Consent(sp.consent.settings, store=sp.store, audit=sp.audit, keyring=sp.keyring,
                   public_base_url=sp.settings.public_base_url)
    header = _cookie_header(sp)
    assert bare.request_state(header).allows("sale_of_data")
    with pytest.raises(ConfigurationError, match="no restrictions"):
        bare.request_state(header, identity=JANE)
