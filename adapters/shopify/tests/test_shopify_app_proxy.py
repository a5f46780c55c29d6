"""The app proxy: Shopify's ``signature`` (its documented example, multi-values, sorting, freshness), the storefront
routes behind it (forged or stale requests get 401 and write nothing), the customer tie, the do-not-sell page."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from shopify_fakes import SECRET, SHOP
from shopprivacy_shopify.app_proxy import (
    proxy_signature,
    query_params,
    sign_query,
    signed_text,
    verify_proxy_query,
)
from shopprivacy_shopify.customers import customer_gid

from shopprivacy import ShopPrivacy
from shopprivacy.errors import SignatureError
from shopprivacy.testing import respond, row_counts
from shopprivacy.web.http import Request, Response

KEY = SECRET.encode()
BASE = "/privacy/shopify/proxy"


def shopify_query(*, customer: str = "", now: float | None = None, extra: list[tuple[str, str]] | None = None,
                  shop: str = SHOP) -> str:
    """The query Shopify forwards: the storefront's own parameters, then Shopify's, signed."""
    ts = str(int(time.time() if now is None else now))
    pairs = [*(extra or []), ("shop", shop), ("logged_in_customer_id", customer), ("path_prefix", "/apps/privacy"),
             ("timestamp", ts)]
    return sign_query(KEY, pairs)


def altered(query: str) -> str:
    """``query`` with the last hex digit of its signature changed."""
    return query[:-1] + ("1" if query.endswith("0") else "0")


def call(sp: ShopPrivacy, method: str, path: str, query: str, *, body: object = None,
         headers: dict[str, str] | None = None) -> Response:
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    hdrs = {"Content-Type": "application/json", **(headers or {})} if body is not None else dict(headers or {})
    return respond(sp, Request(method, BASE + path, query={k: v[0] for k, v in query_params(query).items()},
                               headers=hdrs, body=raw, remote_addr="203.0.113.9", query_string=query))


def choice(sp: ShopPrivacy, granted: list[str], method: str = "custom", **extra: object) -> dict[str, object]:
    return {"method": method, "version": sp.consent.policy.version, "granted": granted,
            "page": "https://example-shop.myshopify.com/products/x", **extra}


# -- the signature -----------------------------------------------------------------------------------------
def test_shopifys_documented_example():
    """shopify.dev, "Authenticate app proxies": secret ``hush``, ``extra=1&extra=2``; the page shows the signature
    starting ``4c68c8624d737112c91818c11017d24d334b``."""
    query = ("extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1"
             "&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555"
             "&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb")
    params = query_params(query)
    assert signed_text(params) == ("extra=1,2logged_in_customer_id=1path_prefix=/apps/awesome_reviews"
                                   "shop=shop-name.myshopify.comtimestamp=1317327555")
    assert proxy_signature(b"hush", params).startswith("4c68c8624d737112c91818c11017d24d334b")
    got = verify_proxy_query(b"hush", query, now=1317327555 + 30)
    assert (got.shop, got.customer_id, got.path_prefix) == ("shop-name.myshopify.com", "1", "/apps/awesome_reviews")
    with pytest.raises(SignatureError, match="too old"):
        verify_proxy_query(b"hush", query, now=1317327555 + 91)
    with pytest.raises(SignatureError, match="does not match"):
        verify_proxy_query(b"wrong", query, now=1317327555)


def test_sorting_is_of_the_key_value_texts_by_code_point():
    # "a0=" sorts before "a=" ('0' < '='); upper case before lower case
    assert signed_text({"a": ["x"], "a0": ["y"], "B": ["z"]}) == "B=za0=ya=x"


@pytest.mark.parametrize("repeated", ["shop", "timestamp", "signature", "hmac", "logged_in_customer_id", "path_prefix"])
def test_a_repeated_shopify_parameter_is_refused(repeated):
    query = shopify_query() + f"&{repeated}=again&{repeated}=more"
    with pytest.raises(SignatureError, match="repeated"):
        verify_proxy_query(KEY, query, now=time.time())


def test_upper_case_or_missing_signature_or_timestamp_is_refused():
    query = shopify_query()
    head, _, sig = query.rpartition("signature=")
    now = time.time()
    assert verify_proxy_query(KEY, query, now=now).shop == SHOP
    for bad in (head + "signature=" + sig.upper(), head.rstrip("&"), query.replace("timestamp=", "ts=")):
        with pytest.raises(SignatureError):
            verify_proxy_query(KEY, bad, now=now)


def test_hmac_is_left_out_of_the_signed_text_as_by_shopifys_library():
    assert signed_text({"hmac": ["x"], "a": ["1"]}) == "a=1"


# -- the routes -------------------------------------------------------------------------------------------------
def test_the_banner_and_its_configuration_come_through_the_proxy(sp: ShopPrivacy):
    js = call(sp, "GET", "/consent/consent.js", shopify_query())
    assert js.status == 200 and b"shopprivacy" in js.body
    cfg = call(sp, "GET", "/consent/config", shopify_query(extra=[("locale", "fr")]))
    assert cfg.status == 200 and json.loads(cfg.body)["lang"] == "fr"
    assert call(sp, "GET", "/consent/config", "locale=fr").status == 401


def test_a_choice_is_one_row_tied_to_the_logged_in_customer(sp: ShopPrivacy):
    before = row_counts(sp.store)
    resp = call(sp, "POST", "/consent", shopify_query(customer="7421"), body=choice(sp, ["analytics"]),
                headers={"Origin": "https://example-shop.myshopify.com", "Sec-Fetch-Site": "same-origin"})
    assert resp.status == 200, resp.body
    data = json.loads(resp.body)
    assert data["cookie"]["name"] == "sp_consent" and data["cookie"]["value"]
    after = row_counts(sp.store)
    assert after["sp_consent_records"] == before["sp_consent_records"] + 1
    subject = sp.pseudonym(customer_gid("7421"), namespace="customer")
    (row,) = sp.consent.customer_history(subject)
    assert row["consent_id"] == data["consent_id"] and row["granted"] == ["analytics"]
    assert "7421" not in json.dumps(row)  # the pseudonym, never the id


def test_an_anonymous_choice_is_tied_to_no_customer(sp: ShopPrivacy):
    resp = call(sp, "POST", "/consent", shopify_query(), body=choice(sp, []))
    assert resp.status == 200
    assert "customer" not in sp.consent.export(json.loads(resp.body)["consent_id"])[0]


def test_a_cross_site_post_through_the_proxy_is_refused(sp: ShopPrivacy):
    before = row_counts(sp.store)
    resp = call(sp, "POST", "/consent", shopify_query(customer="7421"), body=choice(sp, ["marketing"]),
                headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403 and row_counts(sp.store) == before


def test_another_shop_is_not_served(sp: ShopPrivacy):
    resp = call(sp, "POST", "/consent", shopify_query(shop="other.myshopify.com"), body=choice(sp, []))
    assert resp.status == 404


@pytest.mark.parametrize("query", [
    lambda: shopify_query(now=time.time() - 200),           # stale
    lambda: shopify_query(now=time.time() + 200),           # from the future
    lambda: shopify_query().replace("logged_in_customer_id=&", "logged_in_customer_id=1&"),  # customer forged
    lambda: altered(shopify_query()),                       # signature altered
    lambda: "shop=" + SHOP,                                 # unsigned
    lambda: sign_query(b"not-the-secret", [("shop", SHOP), ("timestamp", str(int(time.time())))]),
])
def test_forged_or_stale_is_401_and_writes_nothing(sp: ShopPrivacy, query):
    before = row_counts(sp.store)
    for path, method in (("/consent", "POST"), ("/do-not-sell", "POST")):
        body = choice(sp, ["marketing"]) if path == "/consent" else b"x=1"
        hdrs = {} if path == "/consent" else {"Content-Type": "application/x-www-form-urlencoded"}
        assert call(sp, method, path, query(), body=body, headers=hdrs).status == 401
    assert row_counts(sp.store) == before


_KEYS = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz_-ABZ09=&+%é"), min_size=1, max_size=12)
_VALUES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@hsettings(max_examples=60, deadline=None)
@given(extra=st.lists(st.tuples(_KEYS, _VALUES), max_size=5), customer=st.sampled_from(["", "42", "x"]),
       tamper=st.sampled_from(["none", "value", "drop", "age", "add"]), body=st.binary(max_size=200))
def test_any_proxied_request_is_verified_or_refused_without_writing(sp: ShopPrivacy, extra, customer, tamper, body):
    age = 120 if tamper == "age" else 0
    query = shopify_query(customer=customer, extra=extra, now=time.time() - age)
    if tamper == "value":
        query = query.replace("path_prefix=%2Fapps%2Fprivacy", "path_prefix=%2Fapps%2Fother")
    elif tamper == "drop":
        query = query.replace("logged_in_customer_id=" + customer + "&", "")
    elif tamper == "add":
        query = "injected=1&" + query
    before = row_counts(sp.store)
    resp = call(sp, "POST", "/consent", query, body=body)
    if tamper != "none":
        assert resp.status == 401 and row_counts(sp.store) == before
    else:
        assert resp.status < 500
        assert row_counts(sp.store)["sp_consent_records"] - before["sp_consent_records"] == (resp.status == 200)


# -- do not sell or share ----------------------------------------------------------------------------------------
def test_the_do_not_sell_page_records_the_opt_out_against_the_customer(sp: ShopPrivacy):
    page = call(sp, "GET", "/do-not-sell", shopify_query(customer="99"))
    html = page.body.decode()
    assert page.status == 200 and "Do not sell or share my personal information" in html
    assert 'action="/apps/privacy/do-not-sell"' in html and "data-sp-do-not-sell" in html
    assert 'src="/apps/privacy/consent/consent.js"' in html and "You are logged in" in html
    before = row_counts(sp.store)["sp_consent_records"]
    done = call(sp, "POST", "/do-not-sell", shopify_query(customer="99"), body=b"",
                headers={"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "same-origin"})
    assert done.status == 200 and "Your opt-out is recorded" in done.body.decode()
    assert row_counts(sp.store)["sp_consent_records"] == before + 1
    (row,) = sp.consent.customer_history(sp.pseudonym(customer_gid("99"), namespace="customer"))
    assert "sale_of_data" in row["denied"] and "marketing" in row["denied"]
    again = call(sp, "GET", "/do-not-sell", shopify_query(customer="99"))
    assert "You have opted out" in again.body.decode()  # from any browser: it is the customer's


def test_the_do_not_sell_page_without_a_customer_records_for_the_browser_only(sp: ShopPrivacy):
    before = row_counts(sp.store)["sp_consent_records"]
    done = call(sp, "POST", "/do-not-sell", shopify_query(), body=b"",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status == 200 and "You are logged in" not in done.body.decode()
    assert row_counts(sp.store)["sp_consent_records"] == before + 1


def test_the_proxy_url_quotes_what_it_signs():
    query = sign_query(KEY, [("q", "a b&c"), ("shop", SHOP), ("timestamp", "1")])
    assert query.startswith("q=" + quote("a b&c", safe="") + "&")
    assert query_params(query)["q"] == ["a b&c"]


def test_through_flask_every_value_of_a_repeated_parameter_is_signed(tmp_path):
    """The Flask integration hands the raw query on (``Request.query_string``): a repeated parameter, which
    ``Request.query`` holds once, verifies as Shopify signed it."""
    flask = pytest.importorskip("flask")
    from shopify_fakes import OPTIONS

    from shopprivacy import Keyset
    from shopprivacy.integrations.flask import ShopPrivacyFlask

    app = flask.Flask(__name__)
    app.config.update(SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp_path}/sp.db",
                      SHOPPRIVACY_KEYSET=Keyset.generate().to_json(), SHOPPRIVACY_PUBLIC_BASE_URL="http://localhost",
                      SHOPPRIVACY_PLATFORM="shopify", SHOPPRIVACY_PLATFORM_OPTIONS=OPTIONS)
    ShopPrivacyFlask(app)
    ShopPrivacyFlask.sp(app).store.upgrade()
    query = shopify_query(extra=[("locale", "fr"), ("tag", "a b"), ("tag", "c")])
    client = app.test_client()
    ok = client.get(f"{BASE}/consent/config?{query}")
    assert ok.status_code == 200 and ok.get_json()["lang"] == "fr"
    assert client.get(f"{BASE}/consent/config?{query.replace('tag=c', 'tag=d')}").status_code == 401


def test_a_signed_query_cannot_be_re_split_to_name_a_customer():
    """Shopify joins ``key=value`` pairs without separators: a logged-out visitor's signed query
    ``a=xlogged_in_customer_id=123...`` re-sent with the name holding ``=`` would read as customer 123."""
    now = int(time.time())
    pairs = [("a", "xlogged_in_customer_id=123"), ("path_prefix", "/apps/privacy"), ("shop", SHOP),
             ("timestamp", str(now))]
    genuine = sign_query(KEY, pairs)
    assert verify_proxy_query(KEY, genuine, now=now).customer_id is None
    signature = genuine.rpartition("signature=")[2]
    forged = (f"a=x&logged_in_customer_id=123&{quote('logged_in_customer_id=path_prefix', safe='')}=/apps/privacy"
              f"&shop={SHOP}&timestamp={now}&signature={signature}")
    with pytest.raises(SignatureError, match="contains '='"):
        verify_proxy_query(KEY, forged, now=now)
