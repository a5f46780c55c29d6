"""The banner as a page carries it: its texts and configuration in the visitor's language, the ``<head>`` tags
and the no-script form. :class:`~.service.Consent` composes it and offers these as its own methods."""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

from ..errors import InvalidInput
from ..i18n import available_locales, catalog, direction, negotiate
from . import assets
from .policy import Policy
from .regions import normalize_region
from .settings import ConsentSettings
from .state import ConsentState

LOCALES = "shopprivacy.consent.static"


class Banner:
    """The banner of one shop: its links point to ``public_base_url``, it speaks ``default_locale`` when the
    visitor's language is not offered."""

    def __init__(self, settings: ConsentSettings, policy: Policy, *, public_base_url: str,
                 default_locale: str = "en") -> None:
        self.settings, self.policy = settings, policy
        self.public_base_url, self.default_locale = public_base_url, default_locale

    @property
    def _base(self) -> str:
        return self.public_base_url + self.settings.path_prefix.rstrip("/")

    def texts(self, locale: str) -> dict[str, str]:
        """The banner's texts in ``locale``: the catalog with the shop's own wording over it."""
        own = self.settings.texts
        return {**catalog(LOCALES, locale), **own.get(locale.split("-", 1)[0].lower(), {}),
                **own.get(locale.lower(), {})}

    def config(self, locale: str) -> dict[str, Any]:
        """The banner configuration for one language (what the data attribute carries)."""
        t = self.texts(locale)
        cats = []
        for name in self.policy.categories:
            decl = self.settings.categories[name]
            cats.append({"id": name, "name": decl.names.get(locale) or decl.names.get("en") or t[f"cat_{name}"],
                         "desc": decl.descriptions.get(locale) or decl.descriptions.get("en") or t[f"desc_{name}"]})
        cookies = [{"c": name, "n": c.name, "d": c.domain} for name, decl in self.settings.categories.items()
                   for c in decl.cookies if name != "necessary"]
        keys = ("title", "text", "accept", "reject", "customize", "save", "settings", "gpc", "always", "policy",
                "embed", "embed_load")
        return {"version": self.policy.version, "cookie": self.settings.cookie_name,
                "endpoint": f"{self._base}/consent", "categories": cats, "cookies": cookies,
                "gcm": self.settings.consent_mode, "regions": self.settings.consent_mode_regions,
                "saleRegions": self.settings.consent_mode_sale_of_data_regions, "lang": locale,
                "dir": direction(locale), "policyUrl": self.settings.policy_url, "t": {k: t[k] for k in keys}}

    def locale_for(self, requested: str | None, accept_language: str | None = None) -> str:
        """The banner language offered for a page's language tag and/or an ``Accept-Language`` value."""
        requested = requested if requested and len(requested) <= 35 and "," not in requested else None
        return negotiate(available_locales(LOCALES), requested=requested, accept_language=accept_language,
                         default=self.default_locale)

    def asset_url(self, name: str) -> str:
        """The versioned URL of ``consent.js`` or ``consent.css``."""
        if name not in assets.TYPES:
            raise InvalidInput(f"no banner file {name!r}: use one of {', '.join(sorted(assets.TYPES))}")
        return f"{self._base}/consent/{name}?v={assets.version()}"

    def head_html(self, locale: str | None = None, nonce: str | None = None, *, region: str | None = None,
                  denied: Iterable[str] = ()) -> str:
        """The stylesheet and script tags for the page's ``<head>`` (:meth:`Consent.banner_html
        <shopprivacy.consent.service.Consent.banner_html>` says what the arguments mean)."""
        lang = self.locale_for(locale, accept_language=locale)
        cfg = json.dumps(self.config(lang), separators=(",", ":"), ensure_ascii=False)
        n = f' nonce="{escape(nonce)}"' if nonce else ""
        r = f' data-sp-region="{code}"' if (code := _region(region)) else ""
        refused = " ".join(sorted(c for c in set(denied) if c in self.policy.optional))
        r += f' data-sp-denied="{refused}"' if refused else ""
        return (f'<link rel="stylesheet" href="{self.asset_url("consent.css")}"{n}>'
                f'<script src="{self.asset_url("consent.js")}" data-sp-config="{escape(cfg)}"{r}{n}></script>')

    def noscript_html(self, locale: str | None = None, *, state: ConsentState | None = None) -> str:
        """The form for visitors without JavaScript; ``""`` once ``state`` holds a choice."""
        if state is not None and state.decided:
            return ""
        lang = self.locale_for(locale, accept_language=locale)
        t = self.texts(lang)
        link = (f'<p><a class="sp-cc-link" href="{escape(self.settings.policy_url)}">{escape(t["policy"])}</a></p>'
                if self.settings.policy_url else "")
        return (f'<noscript><form class="sp-cc sp-cc-noscript" method="post" action="{self._base}/consent" '
                f'lang="{lang}" dir="{direction(lang)}" aria-labelledby="sp-cc-ns-title">'
                f'<h2 id="sp-cc-ns-title">{escape(t["title"])}</h2><p>{escape(t["text"])}</p>{link}'
                f'<input type="hidden" name="version" value="{self.policy.version}">'
                f'<input type="hidden" name="locale" value="{lang}"><div class="sp-cc-row">'
                + "".join(f'<button class="sp-cc-btn sp-cc-{cls}" name="method" value="{method}">{escape(t[cls])}'
                          "</button>" for cls, method in (("accept", "accept_all"), ("reject", "reject_all")))
                + "</div></form></noscript>")


def _region(region: str | None) -> str | None:
    """A visitor's region code, or None for anything else (CDNs send placeholders such as ``XX`` or ``T1``)."""
    try:
        return normalize_region(region) if region else None
    except ValueError:
        return None
