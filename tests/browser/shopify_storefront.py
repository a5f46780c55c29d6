"""A stand-in for a Shopify storefront on an origin of its own: pages whose ``<head>`` is the theme app
extension's embed blocks rendered with python-liquid, a fake of Shopify's storefront script (``Shopify.loadFeatures``
and the Customer Privacy API, recording every call and keeping its state across page views as Shopify does),
and the app proxy: ``/apps/privacy/...`` forwarded to the backend's proxy URL with ``shop``,
``logged_in_customer_id``, ``path_prefix`` and ``timestamp`` added and signed as Shopify signs them (written here
from Shopify's documentation, not with the SDK's verifier), without cookies either way."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qsl, quote

from .storefront import Storefront

EXT = Path(__file__).resolve().parents[2] / "adapters" / "shopify" / "theme-extension"
_SCHEMA = re.compile(r"{%-?\s*schema\s*-?%}(.*?){%-?\s*endschema\s*-?%}", re.S)

#: Shopify's storefront script, faked: the consent-tracking-api feature loads asynchronously; its state lives in
#: localStorage (Shopify keeps it in a cookie), "" per category until set.
FAKE_SHOPIFY = """(function () {
  var KEY = "__fakeShopifyConsent", CATS = ["analytics", "marketing", "preferences", "sale_of_data"];
  window.__shopifyCalls = [];
  function stored() {
    var v = JSON.parse(localStorage.getItem(KEY) || "null") || {};
    var out = {};
    CATS.forEach(function (c) { out[c] = v[c] || ""; });
    return out;
  }
  window.Shopify = window.Shopify || {};
  window.Shopify.loadFeatures = function (features, cb) {
    window.__shopifyCalls.push(["loadFeatures", features]);
    setTimeout(function () {
      window.Shopify.customerPrivacy = {
        currentVisitorConsent: function () { window.__shopifyCalls.push(["currentVisitorConsent"]); return stored(); },
        setTrackingConsent: function (consent, done) {
          window.__shopifyCalls.push(["setTrackingConsent", consent]);
          var v = {};
          CATS.forEach(function (c) { if (c in consent) v[c] = consent[c] ? "yes" : "no"; });
          localStorage.setItem(KEY, JSON.stringify(v));
          setTimeout(function () { done({}); }, 0);
        }
      };
      cb(null);
    }, 30);
  };
})();"""


def render_block(name: str, lang: str) -> str:
    """A block of the theme extension as Shopify renders it (schema defaults as settings)."""
    import liquid

    text = (EXT / "blocks" / name).read_text(encoding="utf-8")
    schema = json.loads(_SCHEMA.findall(text)[0])
    table = json.loads((EXT / "locales" / "en.default.json").read_text(encoding="utf-8"))
    env = liquid.Environment()

    def translate(key: str) -> str:
        value = table
        for part in key.split("."):
            value = value[part]
        return str(value)

    env.filters["t"] = translate
    settings = {s["id"]: s.get("default") for s in schema["settings"]}
    return env.from_string(_SCHEMA.sub("", text)).render(block={"settings": settings},
                                                         request={"locale": {"iso_code": lang}})


def shopify_signature(secret: str, query: str) -> str:
    """Shopify's app proxy signature of a query string (shopify.dev, "Authenticate app proxies")."""
    values: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        values.setdefault(key, []).append(value)
    text = "".join(sorted(f"{k}={','.join(v)}" for k, v in values.items() if k != "signature"))
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class ShopifyStorefront(Storefront):
    """The storefront of ``shop``; ``customer`` is the id of the customer logged in (``""``: nobody), which
    Shopify's proxy passes on as ``logged_in_customer_id``; ``proxy_url`` is the app's proxy URL."""

    def __init__(self, host: str, *, shop: str, secret: str) -> None:
        super().__init__(host, proxy="/apps/privacy")
        self.shop, self.secret = shop, secret
        self.customer = ""
        self.clock_skew = 0

    def page(self, lang: str, nonce: str) -> str:
        head = render_block("consent_banner.liquid", lang)
        body = render_block("privacy_choices.liquid", lang)
        return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Storefront</title>'
                f'{head}<link rel="stylesheet" href="/style.css">'
                '<link rel="stylesheet" href="/ext/privacy-choices.css">'
                '<script src="/shopify-fake.js"></script></head>'
                '<body><header>Green Grocer</header><main><h1>Seasonal boxes</h1>'
                '<script type="text/plain" data-consent="analytics" data-src="/track/analytics.js"></script>'
                '<script type="text/plain" data-consent="marketing" data-src="/track/marketing.js"></script>'
                f'</main>{body}</body></html>')

    def csp(self, nonce: str) -> str:
        return (f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; connect-src 'self'; "
                "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")

    def forward(self, environ, start_response):  # type: ignore[no-untyped-def]
        """Shopify's app proxy: the storefront's query plus Shopify's parameters, signed."""
        ts = str(int(time.time()) + self.clock_skew)
        added = [("shop", self.shop), ("logged_in_customer_id", self.customer), ("path_prefix", self.proxy or ""),
                 ("timestamp", ts)]
        query = "&".join(p for p in (environ.get("QUERY_STRING", ""),
                                     "&".join(f"{k}={quote(v, safe='')}" for k, v in added)) if p)
        environ = {**environ, "QUERY_STRING": f"{query}&signature={shopify_signature(self.secret, query)}"}
        return super().forward(environ, start_response)

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        if environ["PATH_INFO"] == "/ext/privacy-choices.css":  # Shopify serves the blocks' schema stylesheets
            start_response("200 OK", [("Content-Type", "text/css")])
            return [(EXT / "assets" / "privacy-choices.css").read_bytes()]
        if environ["PATH_INFO"] == "/shopify-fake.js":
            start_response("200 OK", [("Content-Type", "text/javascript"), ("Cache-Control", "no-store")])
            return [FAKE_SHOPIFY.encode()]
        return super().__call__(environ, start_response)


__all__ = ["ShopifyStorefront", "render_block", "shopify_signature"]
