"""The banner on another origin: the allow-list setting, CORS on the consent endpoint and the configuration, the
signed cookie returned in the JSON answer and sent back in the body, through ``Route.respond`` and Flask."""

import json

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shopprivacy import Settings, ShopPrivacy
from shopprivacy.consent.settings import ConsentSettings
from shopprivacy.consent.tables import consent_records
from shopprivacy.errors import ConfigurationError
from shopprivacy.i18n import available_locales
from shopprivacy.testing import respond
from shopprivacy.urls import parse_origin
from shopprivacy.web import Request

STORE = "https://store.example"
SETTING = "SHOPPRIVACY_CONSENT__ALLOWED_ORIGINS"
JSON = {"Content-Type": "application/json"}


def records(sp) -> int:
    with sp.store.begin(write=False) as conn:
        return conn.execute(select(func.count()).select_from(consent_records)).scalar_one()


@pytest.fixture
def listed(settings, store):
    """A facade whose consent endpoint allows the storefront ``STORE``."""
    app = ShopPrivacy(settings.model_copy(update={"consent": ConsentSettings(allowed_origins=[STORE])}), store=store)
    yield app
    app.close()


def post(sp, body, *, origin=STORE, **headers):
    hdrs = {**JSON, **({"Origin": origin} if origin else {}), **headers}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return respond(sp, Request("POST", "/privacy/consent", headers=hdrs, body=raw, remote_addr="198.51.100.7"))


def choice(sp, method="custom", granted=(), **extra):
    return {"method": method, "version": sp.consent.policy.version, "granted": list(granted),
            "page": STORE + "/products", **extra}


# -- the setting -------------------------------------------------------------------------------------------
def test_nothing_is_allowed_by_default():
    assert Settings().consent.allowed_origins == []


def test_origins_are_read_from_a_list_or_text_and_normalised():
    as_json = Settings.from_env({SETTING: '["https://Store.example:443", "http://127.0.0.2:8001"]'})
    as_text = Settings.from_env({SETTING: "https://store.example, http://127.0.0.2:8001 https://store.example"})
    assert as_json.consent.allowed_origins == as_text.consent.allowed_origins == [STORE, "http://127.0.0.2:8001"]


@pytest.mark.parametrize(("value", "says"), [
    ("https://store.example/", "did you mean 'https://store.example'"),
    ("https://store.example/shop", "did you mean 'https://store.example'"),
    ("https://store.example?x=1", "did you mean"),
    ("https://*.store.example", "wildcards are not allowed"),
    ("*", "wildcards are not allowed"),
    ("store.example", "write scheme://host[:port]"),
    ("ftp://store.example", "write scheme://host[:port]"),
    ("https://user@store.example", "write scheme://host[:port]"),
    ("https://store.example:99999", "write scheme://host[:port]"),
])
def test_a_bad_origin_is_one_line_naming_the_setting_and_the_fix(value, says):
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env({SETTING: value})
    text = str(err.value)
    assert text.startswith(SETTING) and says in text and "\n" not in text


HOSTS = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z0-9]{1,10}){0,3}", fullmatch=True)


@hsettings(max_examples=150)
@given(scheme=st.sampled_from(["http", "https", "HTTPS"]), host=HOSTS, port=st.none() | st.integers(1, 65535),
       upper=st.booleans())
def test_any_origin_round_trips(scheme, host, port, upper):
    text = f"{scheme}://{host.upper() if upper else host}" + (f":{port}" if port is not None else "")
    origin = parse_origin(text)
    default = {"http": 80, "https": 443}[scheme.lower()]
    assert origin == f"{scheme.lower()}://{host}" + ("" if port in (None, default) else f":{port}")
    assert parse_origin(origin) == origin


@hsettings(max_examples=300)
@given(value=st.one_of(st.text(max_size=60), st.builds(lambda h, rest: f"https://{h}{rest}", HOSTS,
                                                       st.text(max_size=10))))
def test_any_text_is_an_origin_or_a_one_line_error(value):
    try:
        origin = parse_origin(value)
    except ValueError as exc:
        assert "\n" not in str(exc).replace(repr(value), "")  # the message is one line (the value is quoted)
        return
    scheme, _, rest = origin.partition("://")
    assert scheme in ("http", "https") and rest and not any(c in rest for c in "/?#@*")
    assert parse_origin(origin) == origin


# -- the consent endpoint -------------------------------------------------------------------------------------
def test_a_listed_origin_gets_its_preflight(listed):
    pre = respond(listed, Request("OPTIONS", "/privacy/consent", headers={
        "Origin": STORE, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}))
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == STORE and "Origin" in pre.headers["Vary"]
    assert pre.headers["Access-Control-Allow-Methods"] == "POST"
    assert pre.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert int(pre.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in pre.headers  # the banner sends no cookie across origins
    assert records(listed) == 0


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "https://store.example.evil.example",
                                    "http://store.example", "https://store.example:8443"])
def test_any_other_origin_is_refused_and_nothing_is_written(listed, origin):
    pre = respond(listed, Request("OPTIONS", "/privacy/consent", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"}))
    assert pre.status == 403 and "Access-Control-Allow-Origin" not in pre.headers
    resp = post(listed, choice(listed, "accept_all", ["analytics"]), origin=origin)
    assert resp.status == 403 and not resp.set_cookies and "Access-Control-Allow-Origin" not in resp.headers
    assert records(listed) == 0


def test_without_the_setting_a_storefront_is_refused(sp):
    assert post(sp, choice(sp, "accept_all", ["analytics"])).status == 403
    assert records(sp) == 0


def test_a_preflight_for_another_method_is_refused(listed):
    pre = respond(listed, Request("OPTIONS", "/privacy/consent", headers={
        "Origin": STORE, "Access-Control-Request-Method": "DELETE"}))
    assert pre.status == 403 and "Access-Control-Allow-Methods" not in pre.headers


def test_the_answer_carries_the_signed_cookie_for_the_banner_to_write(listed):
    resp = post(listed, choice(listed, "accept_all", ["analytics", "marketing"]))
    assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == STORE
    body = json.loads(resp.body)
    cookie = body["cookie"]
    assert cookie["name"] == "sp_consent" and cookie["max_age"] == 182 * 86400
    state = listed.consent.state({"sp_consent": cookie["value"]}, {})
    assert state.decided and state.consent_id == body["consent_id"] and state.allows("marketing")
    assert resp.set_cookies[0].startswith(f"sp_consent={cookie['value']};")  # same-origin use is unchanged
    assert records(listed) == 1


def test_the_cookie_in_the_body_continues_the_history_and_a_narrowing_is_a_withdrawal(listed):
    first = json.loads(post(listed, choice(listed, "accept_all", ["analytics", "marketing"])).body)
    second = json.loads(post(listed, choice(listed, "custom", ["analytics"],
                                            cookie=first["cookie"]["value"])).body)
    assert second["consent_id"] == first["consent_id"] and second["method"] == "withdraw"
    third = json.loads(post(listed, choice(listed, "custom", ["analytics", "preferences"],
                                           cookie=second["cookie"]["value"])).body)
    assert third["consent_id"] == first["consent_id"] and third["method"] == "custom"  # a widening is not
    history = listed.consent.export(first["consent_id"])
    assert [(r["method"], r["granted"]) for r in history] == [
        ("accept_all", ["analytics", "marketing"]), ("withdraw", ["analytics"]),
        ("custom", ["analytics", "preferences"])]
    assert history[0]["page_url"] == STORE + "/products"


def test_a_rejection_after_a_grant_is_a_withdrawal_on_the_backends_own_pages_too(listed):
    first = post(listed, choice(listed, "accept_all", ["analytics"]), origin="https://shop.example")
    value = json.loads(first.body)["cookie"]["value"]
    again = respond(listed, Request("POST", "/privacy/consent", headers={**JSON, "Origin": "https://shop.example"},
                                    cookies={"sp_consent": value},
                                    body=json.dumps(choice(listed, "reject_all")).encode()))
    assert json.loads(again.body)["method"] == "withdraw"
    assert "Access-Control-Allow-Origin" not in again.headers


COOKIE_JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.lists(st.text(max_size=5), max_size=3),
                        st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
                        st.text(max_size=60), st.sampled_from(["", "x" * 5000, "a.b.c", "e30.AAAA.BBBB"]))


@hsettings(max_examples=120)
@given(junk=COOKIE_JUNK, garble=st.integers(0, 200))
def test_an_invalid_cookie_in_the_body_is_ignored_as_if_absent(listed, junk, garble):
    genuine = listed.consent.cookie_value("c_00112233445566778899", frozenset({"analytics"}), False)
    # not the last character: it carries two unused bits of the base64 signature, so some changes there
    # decode to the same signature (the same cookie written differently, not a forgery)
    at = garble % (len(genuine) - 1)
    forged = genuine[:at] + ("A" if genuine[at] != "A" else "B") + genuine[at + 1:]
    for value in (junk, forged):
        before = records(listed)
        resp = post(listed, choice(listed, "reject_all", cookie=value))
        assert resp.status == 200, resp.body
        body = json.loads(resp.body)
        assert body["consent_id"] != "c_00112233445566778899" and body["method"] == "reject_all"
        assert records(listed) == before + 1


def test_a_cookie_for_an_older_policy_in_the_body_starts_a_new_history(listed, settings, store):
    old = json.loads(post(listed, choice(listed, "accept_all", ["analytics"])).body)["cookie"]["value"]
    changed = ConsentSettings(allowed_origins=[STORE], policy_url="https://shop.example/p",
                              categories={"necessary": {}, "analytics": {"services": ["Matomo"]}})
    newer = ShopPrivacy(settings.model_copy(update={"consent": changed}), store=store)
    try:
        body = json.loads(post(newer, choice(newer, "custom", ["analytics"], cookie=old)).body)
        assert body["method"] == "custom" and listed.consent.state({"sp_consent": old}, {}).consent_id != \
            body["consent_id"]
    finally:
        newer.close()


def test_gpc_sent_on_the_cross_origin_request_is_recorded_and_honoured(listed):
    resp = post(listed, choice(listed, "accept_all", ["analytics", "preferences"]), **{"Sec-GPC": "1"})
    body = json.loads(resp.body)
    assert listed.consent.export(body["consent_id"])[0]["gpc"] is True
    state = listed.consent.state({"sp_consent": body["cookie"]["value"]}, {"Sec-GPC": "1"})
    assert state.allows("analytics") and not state.allows("marketing")


def test_a_page_behind_a_same_origin_proxy_needs_no_listing(sp):
    """A storefront that forwards one of its own paths to the backend: the browser calls the request
    same-origin, which no other site can make it say."""
    proxied = "https://proxied-store.example"
    resp = post(sp, choice(sp, "reject_all"), origin=proxied, **{"Sec-Fetch-Site": "same-origin"})
    assert resp.status == 200 and "Access-Control-Allow-Origin" not in resp.headers
    refused = post(sp, choice(sp, "reject_all"), origin=proxied, **{"Sec-Fetch-Site": "cross-site"})
    assert refused.status == 403 and records(sp) == 1


def test_the_noscript_form_keeps_its_own_rule(listed):
    form = {"Content-Type": "application/x-www-form-urlencoded", "Origin": STORE}
    v = listed.consent.policy.version.encode()
    accept = respond(listed, Request("POST", "/privacy/consent", headers=form, body=b"method=accept_all&version=" + v))
    assert accept.status == 403 and records(listed) == 0


# -- the configuration ---------------------------------------------------------------------------------------
def config(sp, origin=STORE, **query):
    return respond(sp, Request("GET", "/privacy/consent/config", query=query,
                               headers={"Origin": origin} if origin else {}))


def test_the_configuration_is_what_the_page_tag_carries_in_the_pages_language(listed):
    resp = config(listed, locale="fr-CA")
    assert resp.status == 200 and resp.headers["Access-Control-Allow-Origin"] == STORE
    assert "Origin" in resp.headers["Vary"] and "public" in resp.headers["Cache-Control"]
    assert json.loads(resp.body) == listed.consent.config("fr")
    assert json.loads(resp.body)["endpoint"] == "https://shop.example/privacy/consent"
    assert json.loads(config(listed, locale="xx").body)["lang"] == "en"  # the shop's default
    assert json.loads(config(listed).body)["lang"] == "en"
    again = respond(listed, Request("GET", "/privacy/consent/config", query={"locale": "fr-CA"},
                                    headers={"Origin": STORE, "If-None-Match": resp.headers["ETag"]}))
    assert again.status == 304 and again.headers["Access-Control-Allow-Origin"] == STORE


def test_the_configuration_is_refused_to_other_origins_and_served_without_cors_to_no_origin(listed):
    assert config(listed, origin="https://evil.example").status == 403
    plain = config(listed, origin=None, locale="de")
    assert plain.status == 200 and "Access-Control-Allow-Origin" not in plain.headers
    pre = respond(listed, Request("OPTIONS", "/privacy/consent/config",
                                  headers={"Origin": STORE, "Access-Control-Request-Method": "GET"}))
    assert pre.status == 204 and pre.headers["Access-Control-Allow-Methods"] == "GET"


def test_the_configuration_reads_the_browsers_languages_and_else_accept_language(listed):
    # no <html lang>: the banner sends navigator.languages, best first; the first with a file wins
    listed_langs = config(listed, locale="tlh,nl-BE,de")  # tlh: a tag no catalog ships
    assert json.loads(listed_langs.body)["lang"] == "nl" and listed_langs.headers["Content-Language"] == "nl"
    assert "Accept-Language" not in listed_langs.headers["Vary"]  # the URL says it all
    header = respond(listed, Request("GET", "/privacy/consent/config",
                                     headers={"Origin": STORE, "Accept-Language": "tlh, it;q=0.4, es;q=0.6"}))
    assert json.loads(header.body)["lang"] == "es" and "Accept-Language" in header.headers["Vary"]
    rtl = json.loads(config(listed, locale="ar-MA").body)
    assert rtl["lang"] == "ar" and rtl["dir"] == "rtl"


@hsettings(max_examples=100)
@given(locale=st.text(max_size=50))
def test_any_locale_gets_an_offered_language(listed, locale):
    resp = config(listed, locale=locale)
    assert resp.status == 200 and json.loads(resp.body)["lang"] in available_locales("shopprivacy.consent.static")


def test_the_assets_may_be_loaded_from_any_origin(listed):
    js = respond(listed, Request("GET", "/privacy/consent/consent.js", headers={"Origin": STORE}))
    assert js.headers["Access-Control-Allow-Origin"] == "*"
    assert js.headers["Cross-Origin-Resource-Policy"] == "cross-origin"


# -- through Flask ---------------------------------------------------------------------------------------------
def test_flask_passes_the_preflight_to_the_endpoint(tmp_path):
    flask = pytest.importorskip("flask")
    from shopprivacy import Keyset
    from shopprivacy.integrations.flask import ShopPrivacyFlask

    app = flask.Flask(__name__)
    app.config.update(SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp_path}/sp.db",
                      SHOPPRIVACY_KEYSET=Keyset.generate().to_json(), SHOPPRIVACY_PUBLIC_BASE_URL="http://localhost",
                      SHOPPRIVACY_CONSENT={"allowed_origins": [STORE]})
    ShopPrivacyFlask(app)
    sp = ShopPrivacyFlask.sp(app)
    sp.store.upgrade()
    client = app.test_client(use_cookies=False)
    pre = client.open("/privacy/consent", method="OPTIONS",
                      headers={"Origin": STORE, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == STORE
    refused = client.open("/privacy/consent", method="OPTIONS",
                          headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    v = sp.consent.policy.version
    first = client.post("/privacy/consent", json={"method": "accept_all", "version": v, "granted": ["analytics"]},
                        headers={"Origin": STORE})
    assert first.status_code == 200 and first.headers["Access-Control-Allow-Origin"] == STORE
    value = first.json["cookie"]["value"]
    back = client.post("/privacy/consent", json={"method": "reject_all", "version": v, "cookie": value},
                       headers={"Origin": STORE, "Sec-GPC": "1"})
    assert back.json["consent_id"] == first.json["consent_id"] and back.json["method"] == "withdraw"
    conf = client.get("/privacy/consent/config?locale=de", headers={"Origin": STORE})
    assert conf.status_code == 200 and conf.json["lang"] == "de"
    assert conf.headers["Vary"] == "Accept-Encoding, Origin"
    assert client.post("/privacy/consent", json={"method": "reject_all", "version": v},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert [r["method"] for r in sp.consent.export(first.json["consent_id"])] == ["accept_all", "withdraw"]
    sp.close()
