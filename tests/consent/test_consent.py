import json

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func, select

from shopprivacy import Settings, ShopPrivacy
from shopprivacy.consent.service import Choice
from shopprivacy.consent.settings import Category, ConsentSettings, CookieDecl
from shopprivacy.consent.tables import consent_records
from shopprivacy.errors import ConfigurationError, InvalidInput, NotFoundError
from shopprivacy.i18n import catalog
from shopprivacy.testing import respond
from shopprivacy.web import Request


def cookie_of(set_cookie: str) -> dict:
    name, _, rest = set_cookie.partition("=")
    return {name: rest.split(";", 1)[0]}


def records(sp):
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(func.count()).select_from(consent_records)).scalar_one()


def test_optional_categories_on_by_default_are_refused():
    with pytest.raises(ValidationError, match="off until chosen"):
        ConsentSettings(categories={"analytics": Category(default=True)})
    with pytest.raises(ConfigurationError, match="SHOPPRIVACY_CONSENT"):
        Settings.from_env({"SHOPPRIVACY_CONSENT__CATEGORIES": '{"tracking": {}}'})


def test_policy_version_follows_content(sp, settings, store):
    v1 = sp.consent.policy.version
    changed = settings.model_copy(update={"consent": ConsentSettings(categories={
        "analytics": Category(cookies=[CookieDecl(name="_ga*")])})})
    assert ShopPrivacy(changed, store=store).consent.policy.version != v1
    assert ShopPrivacy(settings, store=store).consent.policy.version == v1


def test_no_cookie_means_nothing_optional(sp):
    state = sp.consent.state({}, {})
    assert not state.decided and state.allows("necessary") and not state.allows("analytics")


def test_record_sets_a_signed_cookie_and_state_reads_it(sp):
    choice = Choice(granted=frozenset({"analytics", "marketing"}), method="custom",
                    page_url="https://shop.example/cart?email=jane@example.com")
    consent_id, header = sp.consent.record(choice, ip="203.0.113.5", user_agent="UA")
    assert "SameSite=Lax" in header and "Secure" in header and "HttpOnly" not in header
    state = sp.consent.state(cookie_of(header), {})
    assert state.decided and state.consent_id == consent_id
    assert state.allows("analytics") and state.allows("marketing") and not state.allows("preferences")
    proof = sp.consent.export(consent_id)
    assert proof[0]["granted"] == ["analytics", "marketing"]
    assert proof[0]["denied"] == ["preferences", "sale_of_data"]
    assert proof[0]["page_url"] == "https://shop.example/cart"  # the query is never stored
    assert "203.0.113.5" not in json.dumps(proof)
    assert sp.audit.entries(action="consent.recorded")[0].subject == consent_id
    with pytest.raises(NotFoundError):
        sp.consent.export("c_unknown")


def test_gpc_denies_marketing_and_sale_over_a_stored_grant(sp):
    _, header = sp.consent.record(Choice(granted=frozenset({"analytics", "marketing", "sale_of_data"}),
                                         method="accept_all"))
    state = sp.consent.state(cookie_of(header), {"Sec-GPC": "1"})
    assert state.gpc and state.allows("analytics")
    assert not state.allows("marketing") and not state.allows("sale_of_data")
    # the visitor may re-consent explicitly after the signal
    _, header = sp.consent.record(Choice(granted=frozenset({"marketing"}), method="custom", gpc=True,
                                         override=True))
    assert sp.consent.state(cookie_of(header), {"sec-gpc": "1"}).allows("marketing")


def test_forged_expired_and_old_policy_cookies_are_no_consent(sp, settings, store, caplog):
    _, header = sp.consent.record(Choice(granted=frozenset({"analytics"}), method="custom"))
    good = cookie_of(header)
    name, value = next(iter(good.items()))
    _body, ts, sig = value.split(".")
    import base64

    forged_body = base64.urlsafe_b64encode(json.dumps(
        {"i": "c_x", "v": sp.consent.policy.version, "g": ["analytics", "marketing"]}).encode()).decode().rstrip("=")
    for bad in (f"{forged_body}.{ts}.{sig}", value[:-2] + "AA", "garbage", "", "a.b.c"):
        assert not sp.consent.state({name: bad}, {}).decided
    other = settings.model_copy(update={"consent": ConsentSettings(categories={
        "analytics": Category(services=["Matomo"])})})
    assert not ShopPrivacy(other, store=store).consent.state(good, {}).decided  # policy changed: ask again


def test_parse_choice_validation(sp):
    v = sp.consent.policy.version
    ok = sp.consent.parse_choice({"method": "custom", "version": v, "granted": ["analytics"]})
    assert ok.granted == {"analytics"}
    for bad in ({"method": "custom", "version": v, "granted": ["necessary"]},
                {"method": "custom", "version": v, "granted": ["tracking"]},
                {"method": "reject_all", "version": v, "granted": ["analytics"]},
                {"method": "custom", "version": "old", "granted": []},
                {"method": "maybe", "version": v},
                {"method": "custom", "version": v, "granted": "analytics"},
                [], None):
        with pytest.raises(InvalidInput):
            sp.consent.parse_choice(bad)


def _post_json(sp, body, **headers):
    return sp.consent_web.record(Request("POST", "/privacy/consent", headers={"Content-Type": "application/json",
                                                                              **headers},
                                         body=json.dumps(body).encode(), remote_addr="198.51.100.1"))


def test_endpoint_json(sp):
    v = sp.consent.policy.version
    resp = _post_json(sp, {"method": "reject_all", "version": v, "granted": [], "page": "https://shop.example/"})
    assert resp.status == 200 and resp.set_cookies
    cid = json.loads(resp.body)["consent_id"]
    # a change keeps the consent id: one history per browser
    resp2 = sp.consent_web.record(Request("POST", "/privacy/consent", headers={"Content-Type": "application/json"},
                                          cookies=cookie_of(resp.set_cookies[0]),
                                          body=json.dumps({"method": "accept_all", "version": v,
                                                           "granted": ["analytics"]}).encode()))
    assert json.loads(resp2.body)["consent_id"] == cid
    assert [r["method"] for r in sp.consent.export(cid)] == ["reject_all", "accept_all"]


def test_endpoint_noscript_form_and_origin_check(sp):
    v = sp.consent.policy.version.encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    ok = sp.consent_web.record(Request("POST", "/privacy/consent", body=b"method=accept_all&version=" + v,
                                       headers={**form, "Origin": "https://shop.example",
                                                "Referer": "https://shop.example/products"}))
    assert ok.status == 303 and ok.headers["Location"] == "https://shop.example/products"
    assert sp.consent.state(cookie_of(ok.set_cookies[0]), {}).allows("marketing")
    cross = sp.consent_web.record(Request("POST", "/privacy/consent", body=b"method=accept_all&version=" + v,
                                          headers={**form, "Origin": "https://evil.example"}))
    assert cross.status == 403 and not cross.set_cookies
    reject = sp.consent_web.record(Request("POST", "/privacy/consent", body=b"method=reject_all&version=" + v,
                                           headers={**form, "Origin": "https://evil.example"}))
    assert reject.status == 303 and reject.headers["Location"] == "/"


@hsettings(max_examples=80)
@given(body=st.binary(max_size=300), ctype=st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                                           "text/plain", "multipart/form-data"]))
def test_malformed_bodies_get_4xx_and_write_nothing(sp, body, ctype):
    before = records(sp)
    resp = respond(sp, Request("POST", "/privacy/consent", headers={"Content-Type": ctype}, body=body))
    if resp.status < 400:
        # only a well-formed reject (a cross-site form may reject, never grant) can pass
        assert b"reject_all" in body or b"accept_all" in body or b"custom" in body or b"withdraw" in body
        return
    assert resp.status in (400, 403, 415)
    assert records(sp) == before


@hsettings(max_examples=80)
@given(st.text(max_size=300))
def test_random_cookies_never_raise(sp, raw):
    assert not sp.consent.state({"sp_consent": raw}, {"Sec-GPC": raw[:3]}).decided


def test_gpc_json_and_assets(sp):
    gpc = sp.consent_web.gpc_json(Request("GET", "/.well-known/gpc.json"))
    assert gpc.headers["Content-Type"] == "application/json"
    assert json.loads(gpc.body) == {"gpc": True, "lastUpdate": "2026-11-24"}
    js = sp.consent_web.asset(Request("GET", "/privacy/consent/consent.js"))
    assert js.status == 200 and js.headers["Content-Type"].startswith("text/javascript")
    again = sp.consent_web.asset(Request("GET", "/privacy/consent/consent.js",
                                         headers={"If-None-Match": js.headers["ETag"]}))
    assert again.status == 304
    assert sp.consent_web.asset(Request("GET", "/privacy/consent/other.js")).status == 404


def test_banner_html_is_static_and_safe(sp):
    html = sp.consent.banner_html("ar", nonce="n0nce")
    assert 'nonce="n0nce"' in html and "<noscript>" not in html  # the no-script form is for the body
    assert 'dir="rtl"' in sp.consent.noscript_html("ar")
    cfg = json.loads(__import__("html").unescape(html.split('data-sp-config="', 1)[1].split('"', 1)[0]))
    assert cfg["dir"] == "rtl" and cfg["version"] == sp.consent.policy.version
    assert [c["id"] for c in cfg["categories"]] == ["necessary", "preferences", "analytics", "marketing",
                                                    "sale_of_data"]
    assert sp.consent.banner_html("fr-CH,fr;q=0.9") == sp.consent.banner_html("fr")
    assert "<script>" not in html  # no inline script


def test_choice_methods_must_match_what_they_grant():
    Choice(granted=frozenset({"analytics"}), method="withdraw")  # a partial withdrawal keeps the rest
    Choice(granted=frozenset(), method="withdraw")
    Choice(granted=frozenset({"analytics"}), method="gpc", gpc=True)
    for bad in (dict(granted=frozenset({"analytics"}), method="reject_all"),
                dict(granted=frozenset({"analytics"}), method="gpc"),  # no signal
                dict(granted=frozenset({"marketing"}), method="gpc", gpc=True),
                dict(granted=frozenset({"sale_of_data"}), method="gpc", gpc=True),
                dict(granted=frozenset(), method="gpc", gpc=True, override=True),
                dict(granted=frozenset(), method="maybe")):
        with pytest.raises(InvalidInput):
            Choice(**bad)


def test_endpoint_records_withdraw_and_gpc_in_one_history(sp):
    v = sp.consent.policy.version
    first = _post_json(sp, {"method": "accept_all", "version": v,
                            "granted": ["analytics", "marketing", "preferences", "sale_of_data"]})
    cid = json.loads(first.body)["consent_id"]
    gpc = sp.consent_web.record(Request("POST", "/privacy/consent", cookies=cookie_of(first.set_cookies[0]),
                                        headers={"Content-Type": "application/json", "Sec-GPC": "1"},
                                        body=json.dumps({"method": "gpc", "version": v, "gpc": True,
                                                         "granted": ["analytics", "preferences"]}).encode()))
    assert gpc.status == 200
    after_gpc = cookie_of(gpc.set_cookies[0])
    state = sp.consent.state(after_gpc, {})  # the opt-out stays even when the signal is gone
    assert not state.allows("marketing") and not state.allows("sale_of_data") and state.allows("analytics")
    withdraw = sp.consent_web.record(Request("POST", "/privacy/consent", cookies=after_gpc,
                                             headers={"Content-Type": "application/json"},
                                             body=json.dumps({"method": "withdraw", "version": v,
                                                              "granted": ["preferences"]}).encode()))
    assert withdraw.status == 200
    assert not sp.consent.state(cookie_of(withdraw.set_cookies[0]), {}).allows("analytics")
    rows = sp.consent.export(cid)
    assert [(r["method"], r["granted"], r["gpc"]) for r in rows] == [
        ("accept_all", ["analytics", "marketing", "preferences", "sale_of_data"], False),
        ("gpc", ["analytics", "preferences"], True),
        ("withdraw", ["preferences"], False)]
    assert rows[1]["denied"] == ["marketing", "sale_of_data"]
    assert [e.meta["method"] for e in sp.audit.entries(action="consent.recorded")][-2:] == ["gpc", "withdraw"]


def test_endpoint_refuses_a_gpc_record_that_grants_what_gpc_denies(sp):
    v = sp.consent.policy.version
    before = records(sp)
    for body in ({"method": "gpc", "version": v, "gpc": True, "granted": ["marketing"]},
                 {"method": "gpc", "version": v, "gpc": False, "granted": []},
                 {"method": "gpc", "version": v, "gpc": True, "override": True, "granted": []}):
        assert _post_json(sp, body).status == 400
    assert records(sp) == before


def test_endpoint_expires_declared_cookies_of_denied_categories(settings, store):
    sp = ShopPrivacy(settings.model_copy(update={"consent": ConsentSettings(categories={
        "analytics": Category(cookies=[CookieDecl(name="_pk_id*"), CookieDecl(name="_ga", domain=".shop.example")]),
        "marketing": Category(cookies=[CookieDecl(name="_fbp")])})}), store=store)
    v = sp.consent.policy.version
    req = Request("POST", "/privacy/consent", headers={"Content-Type": "application/json"},
                  cookies={"_pk_id.1.ab": "1", "_ga": "2", "_fbp": "3", "cart": "4", "_pk_idx": "5"},
                  body=json.dumps({"method": "custom", "version": v, "granted": ["marketing"]}).encode())
    resp = sp.consent_web.record(req)
    sp.close()
    assert resp.status == 200
    expired = sorted(c for c in resp.set_cookies if "Max-Age=0" in c)
    assert expired == ["_ga=; Max-Age=0; Path=/; Domain=.shop.example; Secure", "_ga=; Max-Age=0; Path=/; Secure",
                       "_pk_id.1.ab=; Max-Age=0; Path=/; Secure", "_pk_idx=; Max-Age=0; Path=/; Secure"]
    assert sp.consent.expire_headers(["sp_consent", "cart"], frozenset()) == []


# -- hostile bodies and headers: a 4xx and nothing written, or a record without the unusable part -------------
def _page_urls(sp):
    with sp.store.begin(write=False) as conn:
        return [r[0] for r in conn.execute(select(consent_records.c.page_url).order_by(consent_records.c.id))]


def test_every_field_of_a_choice_checks_its_type(sp):
    v = sp.consent.policy.version
    for field in ("method", "version", "granted", "page", "gpc", "override"):
        for odd in (["accept_all"], {"a": 1}, 0, 1.5, "yes", [["analytics"]], "x" * 3000):
            body = {"method": "custom", "version": v, "granted": ["analytics"], "page": "https://shop.example/",
                    "gpc": False, "override": False, field: odd}
            with pytest.raises(InvalidInput):
                sp.consent.parse_choice(body)
            assert _post_json(sp, body).status == 400, body
    assert records(sp) == 0


def test_a_list_as_method_is_a_400():
    with pytest.raises(InvalidInput):
        Choice(granted=frozenset(), method=["accept_all"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        Choice(granted=["analytics"], method="custom")  # type: ignore[arg-type]


def test_a_malformed_page_is_a_400_and_writes_nothing(sp):
    v = sp.consent.policy.version
    for page in ("http://[::1", "https://shop.example:99999/", "https://shop.example/\ud800",
                 "https://shop.example/\x00", "https://shop.example/ a", "https://" + "h" * 3000):
        assert _post_json(sp, {"method": "reject_all", "version": v, "page": page}).status == 400, page
        with pytest.raises(InvalidInput):
            sp.consent.parse_choice({"method": "reject_all", "version": v, "page": page})
    assert records(sp) == 0


def test_a_malformed_referer_is_not_kept_and_fails_nothing(sp):
    v = sp.consent.policy.version
    for referer in ("http://[::1", "https://shop.example:99999/", "https://jane:secret@shop.example/x"):
        assert _post_json(sp, {"method": "reject_all", "version": v}, Referer=referer).status == 200
    _post_json(sp, {"method": "reject_all", "version": v}, Referer="https://shop.example/cart?email=jane")
    assert _page_urls(sp) == [None, None, None, "https://shop.example/cart"]  # the query is never kept


def test_the_form_redirects_to_the_shops_own_pages_only(sp):
    v = sp.consent.policy.version.encode()
    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://shop.example"}
    for referer, back in (("https://evil.example/phish", "/"), ("https://shop.example@evil.example/", "/"),
                          ("https://shop.example.evil.example/", "/"), ("http://shop.example/", "/"),
                          ("//evil.example/", "/"), ("javascript:alert(1)", "/"),
                          ("https://shop.example/cart?x=1", "https://shop.example/cart?x=1")):
        resp = sp.consent_web.record(Request("POST", "/privacy/consent", body=b"method=reject_all&version=" + v,
                                             headers={**form, "Referer": referer}))
        assert resp.status == 303 and resp.headers["Location"] == back, referer


def test_only_cookie_names_are_echoed_in_set_cookie(sp, settings, store):
    s = settings.model_copy(update={"consent": ConsentSettings(categories={
        "analytics": Category(cookies=[CookieDecl(name="_ga*")])})})
    app = ShopPrivacy(s, store=store)
    lines = app.consent.expire_headers(["_ga", "_ga\r\nSet-Cookie: x=1", "_ga; Domain=evil.example", "_ga_X1"],
                                       frozenset())
    assert lines == ["_ga=; Max-Age=0; Path=/; Secure", "_ga_X1=; Max-Age=0; Path=/; Secure"]


def test_a_refused_noscript_form_answers_in_the_forms_language(sp):
    v = sp.consent.policy.version.encode()
    resp = sp.consent_web.record(Request("POST", "/privacy/consent", body=b"method=accept_all&locale=de&version=" + v,
                                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                                  "Origin": "https://evil.example"}))
    assert resp.status == 403 and not resp.set_cookies
    assert resp.body.decode() == catalog("shopprivacy.consent.static", "de")["form_refused"]
    resp = sp.consent_web.record(Request("POST", "/privacy/consent", body=b"method=accept_all&version=" + v,
                                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                                  "Origin": "https://evil.example", "Accept-Language": "nl"}))
    assert resp.body.decode().startswith("Maak uw keuze")


def test_a_shop_words_the_banner_itself_per_language(settings, store):
    from shopprivacy.consent.settings import ConsentSettings
    from shopprivacy.errors import ConfigurationError
    from shopprivacy.settings import Settings

    own = ConsentSettings(texts={"en": {"title": "Cookies at Tea & Co"}, "de": {"title": "Kekse bei Tea & Co"},
                                 "fr-CA": {"accept": "J'accepte"}})
    app = ShopPrivacy(settings.model_copy(update={"consent": own}), store=store)
    try:
        assert app.consent.config("en")["t"]["title"] == "Cookies at Tea & Co"
        assert app.consent.config("de")["t"]["title"] == "Kekse bei Tea & Co"
        assert app.consent.config("fr")["t"]["accept"] != "J'accepte"  # only fr-CA says it this way
        assert app.consent.config("fr-CA")["t"]["accept"] == "J'accepte"
        assert app.consent.config("it")["t"]["title"] == app.consent.texts("it")["title"] != "Cookies at Tea & Co"
        assert "Kekse bei Tea &amp; Co" in app.consent.noscript_html("de")
        assert app.consent.texts_digest("en") != ShopPrivacy(settings, store=store).consent.texts_digest("en")
    finally:
        app.close()
    with pytest.raises(ConfigurationError, match="'titel' is not a banner text; did you mean 'title'"):
        Settings.build({"consent": {"texts": {"en": {"titel": "x"}}}})
    with pytest.raises(ConfigurationError, match="must keep the placeholders"):
        Settings.build({"consent": {"texts": {"en": {"embed": "Blocked"}}}})
