"""The portal's markup: every id unique, every field labelled by its own label, the no-script consent form in
the body (never in ``<head>``) and only until a choice exists."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest

from shopprivacy.consent.service import Choice
from shopprivacy.i18n import available_locales
from shopprivacy.web import Request

LOCALES = sorted(available_locales("shopprivacy.rights"))


class Markup(HTMLParser):
    """Ids, labels, form controls (with the index of their form) and where each ``<noscript>`` sits."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()
        self.label_for: list[tuple[str, int]] = []
        self.controls: list[tuple[str, int, str]] = []  # id, form index, type
        self.noscripts: list[str] = []  # "head" or "body"
        self.forms = -1
        self.where = ""

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if a.get("id"):
            self.ids[a["id"]] += 1
        if tag in ("head", "body"):
            self.where = tag
        elif tag == "noscript":
            self.noscripts.append(self.where)
        elif tag == "form":
            self.forms += 1
        elif tag == "label":
            self.label_for.append((a.get("for") or "", self.forms))
        elif (tag == "input" and a.get("type") != "hidden") or tag == "textarea":
            self.controls.append((a.get("id") or "", self.forms, a.get("type") or tag))


def parse(html: str) -> Markup:
    m = Markup()
    m.feed(html)
    return m


@pytest.mark.parametrize("lang", LOCALES)
def test_portal_ids_are_unique_and_each_field_has_its_own_label(sp, lang):
    html = sp.rights_web.portal(Request("GET", "/privacy/rights", query={"lang": lang})).body.decode()
    m = parse(html)
    assert [i for i, n in m.ids.items() if n > 1] == []
    assert len(m.controls) == 14  # e-mail in nine forms, new e-mail, first and last name, two messages
    labels = Counter(target for target, _ in m.label_for)
    for control, form, _ in m.controls:
        assert control and labels[control] == 1, f"{control} has {labels[control]} labels"
        assert (control, form) in m.label_for, f"the label of {control} is in another form"


def test_banner_tags_for_the_head_hold_no_form(sp):
    head = sp.consent.banner_html("en", nonce="n1")
    assert "<noscript" not in head and "<form" not in head
    assert head.count("<link") == 1 and head.count("<script") == 1


def test_the_no_script_form_is_shown_until_a_choice_exists(sp):
    html = sp.consent.noscript_html("fr")
    assert html.startswith("<noscript><form") and html.endswith("</form></noscript>")
    assert 'lang="fr"' in html and 'value="accept_all"' in html and 'value="reject_all"' in html
    assert f'value="{sp.consent.policy.version}"' in html
    undecided = sp.consent.state({}, {"Sec-GPC": "1"})
    assert sp.consent.noscript_html("fr", state=undecided) == html
    _, set_cookie = sp.consent.record(Choice(granted=frozenset(), method="reject_all"))
    name, _, rest = set_cookie.partition("=")
    decided = sp.consent.state({name: rest.split(";", 1)[0]})
    assert decided.decided and sp.consent.noscript_html("fr", state=decided) == ""


def test_portal_puts_the_no_script_form_in_the_body_until_a_choice_exists(sp):
    html = sp.rights_web.portal(Request("GET", "/privacy/rights")).body.decode()
    assert parse(html).noscripts == ["body"]
    _, set_cookie = sp.consent.record(Choice(granted=frozenset({"analytics"}), method="custom"))
    name, _, rest = set_cookie.partition("=")
    html = sp.rights_web.portal(Request("GET", "/privacy/rights", cookies={name: rest.split(";", 1)[0]})).body.decode()
    assert parse(html).noscripts == [] and "consent.js" in html  # the banner stays: its settings button


@pytest.mark.parametrize(("body", "lang", "expected"), [
    (b"action=export&email=not-an-address", "de", "Bitte prüfen Sie Ihre Eingabe: Ihre E-Mail-Adresse"),
    (b"action=rectify&email=jane%40example.com&new_email=nope", "fr", "Adresse e-mail correcte (facultatif)"),
    (b"action=rectify&email=jane%40example.com", "es", "Indique al menos una corrección"),
    (b"action=rectify&email=jane%40example.com&first_name=%07", "en", "Please check what you entered: First name"),
])
def test_a_refused_portal_form_names_the_field_in_the_visitors_language(sp, body, lang, expected):
    resp = sp.rights_web.portal(Request("POST", "/privacy/rights", body=body, query={"lang": lang},
                                        headers={"Content-Type": "application/x-www-form-urlencoded",
                                                 "Origin": "https://shop.example"}))
    html = resp.body.decode()
    assert resp.status == 400 and 'role="alert"' in html and expected in html
    assert "not an e-mail address" not in html and "must be" not in html  # no English validation text
    assert not sp.rights.find()
