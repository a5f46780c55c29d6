"""Global Privacy Control wins on the server: whatever a client sends (the no-script form, the banner's JSON,
a banner on another origin, the Python API), marketing and sale of data are recorded as granted under the
signal only after an explicit per-category opt-in, and that override is stored in the proof row."""

import json

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from shopprivacy import ShopPrivacy
from shopprivacy.consent.service import Choice
from shopprivacy.consent.settings import OPTIONAL, ConsentSettings
from shopprivacy.consent.state import GPC_DENIES
from shopprivacy.consent.tables import consent_records
from shopprivacy.errors import InvalidInput
from shopprivacy.testing import respond
from shopprivacy.web import Request

BASE = "https://shop.example"
STORE = "https://store.example"
ALL = sorted(OPTIONAL)


def cookie_of(set_cookie: str) -> dict:
    name, _, rest = set_cookie.partition("=")
    return {name: rest.split(";", 1)[0]}


def last_row(sp):
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(consent_records).order_by(consent_records.c.id.desc()).limit(1)).first()


@pytest.fixture
def listed(settings, store):
    app = ShopPrivacy(settings.model_copy(update={"consent": ConsentSettings(allowed_origins=[STORE])}), store=store)
    yield app
    app.close()


def form(sp, method, *, gpc=True, cookies=None):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": BASE, "Referer": BASE + "/p"}
    if gpc:
        headers["Sec-GPC"] = "1"
    body = f"method={method}&version={sp.consent.policy.version}".encode()
    return respond(sp, Request("POST", "/privacy/consent", headers=headers, body=body, cookies=cookies or {}))


def post_json(sp, body, *, gpc=True, cookies=None, origin=None):
    headers = {"Content-Type": "application/json"}
    if gpc:
        headers["Sec-GPC"] = "1"
    if origin:
        headers["Origin"] = origin
    return respond(sp, Request("POST", "/privacy/consent", headers=headers, body=json.dumps(body).encode(),
                               cookies=cookies or {}))


# -- the defects of issue 20, "Why" 1 -----------------------------------------------------------------------
def test_noscript_accept_all_under_gpc_grants_neither_marketing_nor_sale(sp):
    resp = form(sp, "accept_all")
    assert resp.status == 303
    row = last_row(sp)
    assert row.method == "accept_all" and row.gpc and not row.gpc_override
    assert set(row.granted) == set(ALL) - GPC_DENIES and set(row.denied) == GPC_DENIES
    later = sp.consent.state(cookie_of(resp.set_cookies[0]), {})  # the header has stopped
    assert not later.allows("marketing") and not later.allows("sale_of_data") and later.allows("analytics")


def test_json_gpc_false_under_the_header_cannot_grant_what_gpc_denies(sp):
    v = sp.consent.policy.version
    for method in ("accept_all", "custom"):
        resp = post_json(sp, {"method": method, "version": v, "granted": ALL, "gpc": False})
        assert resp.status == 200
        assert set(json.loads(resp.body)["granted"]) == set(ALL) - GPC_DENIES
        row = last_row(sp)
        assert row.gpc and not row.gpc_override and not set(row.granted) & GPC_DENIES
        assert not sp.consent.state(cookie_of(resp.set_cookies[0]), {}).allows("sale_of_data")


def test_an_explicit_override_is_stored_in_the_proof_row_and_exported(sp):
    v = sp.consent.policy.version
    first = post_json(sp, {"method": "accept_all", "version": v, "granted": ALL})
    cookies = cookie_of(first.set_cookies[0])
    second = post_json(sp, {"method": "custom", "version": v, "granted": ["analytics", "marketing", "preferences"],
                            "gpc": True, "override": True}, cookies=cookies)
    cid = json.loads(second.body)["consent_id"]
    rows = sp.consent.export(cid)
    assert [(r["method"], r["gpc_override"]) for r in rows] == [("accept_all", False), ("custom", True)]
    assert rows[1]["granted"] == ["analytics", "marketing", "preferences"]
    assert sp.consent.state(cookie_of(second.set_cookies[0]), {"Sec-GPC": "1"}).allows("marketing")
    # a later Accept all keeps the categories the override granted, and only those
    third = form(sp, "accept_all", cookies=cookie_of(second.set_cookies[0]))
    row = last_row(sp)
    assert row.gpc_override and set(row.granted) == set(ALL) - {"sale_of_data"}
    assert not sp.consent.state(cookie_of(third.set_cookies[0]), {}).allows("sale_of_data")
    audit = sp.audit.entries(action="consent.recorded")
    assert [e.meta["override"] for e in audit] == [False, True, True]


def test_override_without_the_signal_or_on_accept_all_is_not_one(sp):
    v = sp.consent.policy.version
    resp = post_json(sp, {"method": "custom", "version": v, "granted": ["marketing"], "override": True}, gpc=False)
    assert resp.status == 200 and not last_row(sp).gpc_override  # cannot be given before the signal
    # ... so it does not carry over to a later visit with the signal
    again = form(sp, "accept_all", cookies=cookie_of(resp.set_cookies[0]))
    assert not set(last_row(sp).granted) & GPC_DENIES
    assert again.status == 303
    post_json(sp, {"method": "accept_all", "version": v, "granted": ALL, "gpc": True, "override": True})
    assert not last_row(sp).gpc_override and not set(last_row(sp).granted) & GPC_DENIES


def test_the_python_api_applies_the_signal_too(sp):
    _, header = sp.consent.record(Choice(granted=frozenset(ALL), method="accept_all", gpc=True))
    assert not set(last_row(sp).granted) & GPC_DENIES
    assert not sp.consent.state(cookie_of(header), {}).allows("marketing")


# -- every way a choice can arrive ---------------------------------------------------------------------------
PATHS = ("form", "json", "cross_origin", "python")
PRIOR = ("none", "granted", "override")


def _prior(sp, kind):
    if kind == "none":
        return {}
    choice = Choice(granted=frozenset(ALL), method="custom", gpc=kind == "override", override=kind == "override")
    _, header = sp.consent.record(choice)
    return cookie_of(header)


@hsettings(max_examples=120, deadline=None)
@given(path=st.sampled_from(PATHS), method=st.sampled_from(["accept_all", "reject_all", "custom", "withdraw", "gpc"]),
       granted=st.sets(st.sampled_from(ALL)), body_gpc=st.sampled_from([True, False, None]),
       override=st.sampled_from([True, False, None]), header=st.booleans(), prior=st.sampled_from(PRIOR))
def test_gpc_wins_whatever_arrives(listed, path, method, granted, body_gpc, override, header, prior):
    sp = listed
    cookies = _prior(sp, prior)
    before = last_row(sp)
    body = {"method": method, "version": sp.consent.policy.version, "granted": sorted(granted)}
    if body_gpc is not None:
        body["gpc"] = body_gpc
    if override is not None:
        body["override"] = override
    signal = header or body_gpc is True
    if path == "form":
        resp = form(sp, method, gpc=header, cookies=cookies)
        signal, override = header, None  # a form carries neither flag
        ok = resp.status == 303
    elif path == "python":
        current = sp.consent.state(cookies, {"Sec-GPC": "1"} if header else {})
        try:
            choice = sp.consent.following(sp.consent.parse_choice(body), current)
        except InvalidInput:  # an invalid choice writes nothing, as checked below
            ok = False
        else:
            _, set_cookie = sp.consent.record(choice)
            resp, ok = None, True
    else:
        cross = path == "cross_origin"
        if cross and cookies:
            body["cookie"] = next(iter(cookies.values()))
        resp = post_json(sp, body, gpc=header, cookies={} if cross else cookies, origin=STORE if cross else None)
        ok = resp.status == 200
    row = last_row(sp)
    if not ok:
        assert row == before  # refused: nothing written
        return
    assert row != before
    set_cookie = set_cookie if path == "python" else resp.set_cookies[0]
    after = sp.consent.state(cookie_of(set_cookie), {})  # what holds once the signal stops
    got = set(row.granted) & GPC_DENIES
    assert row.gpc == signal
    if not signal:
        assert not row.gpc_override
        return
    if got:
        assert row.gpc_override, "marketing / sale of data granted under GPC without a recorded override"
        explicit = override is True and row.method in ("custom", "withdraw") and path != "form"
        carried = row.method == "accept_all" and prior == "override"
        assert explicit or carried
        if carried and not explicit:
            assert got <= set(ALL)  # the earlier override's categories
    for category in GPC_DENIES:
        assert not after.allows(category) or row.gpc_override


# -- what was shown: policy version, language, digest of the exact texts --------------------------------------
def test_the_language_and_a_digest_of_the_texts_shown_are_recorded(sp):
    v = sp.consent.policy.version
    resp = post_json(sp, {"method": "custom", "version": v, "granted": ["analytics"], "locale": "fr"}, gpc=False)
    cid = json.loads(resp.body)["consent_id"]
    form(sp, "reject_all", gpc=False, cookies=cookie_of(resp.set_cookies[0]))
    assert 'name="locale" value="de"' in sp.consent.noscript_html("de")
    rows = sp.consent.export(cid)
    fr, en = sp.consent.texts_digest("fr"), sp.consent.texts_digest("en")
    assert fr != en and len(fr) == 64
    assert [(r["policy_version"], r["locale"], r["texts_digest"]) for r in rows] == [(v, "fr", fr), (v, "en", en)]
    assert post_json(sp, {"method": "custom", "version": v, "granted": [], "locale": "xx-evil"}).status == 400


def test_a_changed_banner_text_changes_the_digest(settings, store):
    from shopprivacy.consent.settings import Category

    plain = ShopPrivacy(settings, store=store)
    named = ShopPrivacy(settings.model_copy(update={"consent": ConsentSettings(categories={
        "analytics": Category(descriptions={"en": "We count visits."})})}), store=store)
    assert plain.consent.texts_digest("en") != named.consent.texts_digest("en")
    plain.close()
    named.close()
