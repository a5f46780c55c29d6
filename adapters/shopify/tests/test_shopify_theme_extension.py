"""The theme app extension (``adapters/shopify/theme-extension``): its files as Shopify expects them, and its
blocks rendered with a Liquid implementation (python-liquid) to check the markup the storefront gets."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import tomllib
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from shopprivacy.i18n import available_locales

liquid = pytest.importorskip("liquid", reason="python-liquid renders the theme extension's blocks")

EXT = Path(__file__).resolve().parents[1] / "theme-extension"
_SCHEMA = re.compile(r"{%-?\s*schema\s*-?%}(.*?){%-?\s*endschema\s*-?%}", re.S)


def split(name: str) -> tuple[str, dict[str, Any]]:
    """A block's Liquid without its ``{% schema %}`` (a Shopify tag, read by Shopify, not rendered) and the
    schema's JSON."""
    text = (EXT / "blocks" / name).read_text(encoding="utf-8")
    (schema,) = _SCHEMA.findall(text)
    return _SCHEMA.sub("", text), json.loads(schema)


def locale(code: str) -> dict[str, Any]:
    name = "en.default.json" if code == "en" else f"{code}.json"
    data: dict[str, Any] = json.loads((EXT / "locales" / name).read_text(encoding="utf-8"))
    return data


def render(name: str, *, settings: dict[str, Any] | None = None, lang: str = "en") -> str:
    """The block as Shopify renders it: ``block.settings`` (the schema's defaults, then ``settings``),
    ``request.locale`` and the ``t`` filter over the extension's storefront locales (English as fallback)."""
    source, schema = split(name)
    env = liquid.Environment()

    def translate(key: str) -> str:
        for table in (locale(lang) if (EXT / "locales" / f"{lang}.json").exists() else {}, locale("en")):
            value: Any = table
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, str):
                return value
        raise AssertionError(f"no storefront text {key!r}")

    env.filters["t"] = translate
    defaults = {s["id"]: s.get("default") for s in schema["settings"]}
    return env.from_string(source).render(block={"settings": {**defaults, **(settings or {})}},
                                          request={"locale": {"iso_code": lang}})


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def test_the_extension_is_a_theme_extension_with_its_blocks_assets_and_locales():
    config = tomllib.loads((EXT / "shopify.extension.toml").read_text(encoding="utf-8"))
    assert config["type"] == "theme" and config["name"]
    for name in ("consent_banner.liquid", "privacy_choices.liquid"):
        _, schema = split(name)
        assert schema["target"] in ("head", "compliance_head", "body")  # app embed blocks
        ids = [s["id"] for s in schema["settings"]]
        assert len(ids) == len(set(ids))
        if "stylesheet" in schema:
            assert (EXT / "assets" / schema["stylesheet"]).is_file()
    assert split("consent_banner.liquid")[1]["target"] == "compliance_head"  # before any other script of the page
    english = locale("en")
    for path in sorted((EXT / "locales").glob("*.json")):  # Shopify's names: en.default, pt-BR, pt-PT, zh-CN, nb...
        texts = json.loads(path.read_text(encoding="utf-8"))
        assert texts.keys() == english.keys(), path.name
        assert all(texts[group].keys() == english[group].keys() for group in english), path.name
    shipped = {p.stem for p in (EXT / "locales").glob("*.json")}
    assert {"de", "fr", "pt-BR", "pt-PT", "zh-CN", "nb", "he", "ja"} <= shipped
    shopify_name = {"en": "en.default", "pt": "pt-PT", "zh": "zh-CN", "no": "nb"}
    sdk = {shopify_name.get(tag, tag) for tag in available_locales("shopprivacy.consent.static")}
    assert not sdk - shipped, f"the SDK's languages the extension lacks: {sorted(sdk - shipped)}"


@pytest.mark.parametrize("lang", ["en", "fr", "de", "pt-BR"])
def test_the_embed_loads_the_banner_through_the_app_proxy_in_the_pages_language(lang):
    tags = parse(render("consent_banner.liquid", lang=lang))
    (script,) = [attrs for tag, attrs in tags.tags if tag == "script"]
    assert script["src"] == "/apps/privacy/consent/consent.js"
    assert script["data-sp-base"] == "/apps/privacy" and script["data-sp-locale"] == lang
    assert "async" in script


def test_a_merchants_proxy_path_is_used_and_anything_else_falls_back():
    tags = parse(render("consent_banner.liquid", settings={"proxy_path": " /a/consent "}))
    (script,) = [attrs for tag, attrs in tags.tags if tag == "script"]
    assert script["src"] == "/a/consent/consent/consent.js" and script["data-sp-base"] == "/a/consent"
    tags = parse(render("consent_banner.liquid", settings={"proxy_path": "https://evil.example"}))
    assert [a["data-sp-base"] for t, a in tags.tags if t == "script"] == ["/apps/privacy"]


@hsettings(max_examples=80, deadline=None)
@given(path=st.text(max_size=40), lang=st.text(max_size=12))
def test_no_setting_or_language_breaks_out_of_the_tag(path, lang):
    tags = parse(render("consent_banner.liquid", settings={"proxy_path": path}, lang=lang))
    assert [t for t, _ in tags.tags] == ["script"]
    (script,) = [a for _, a in tags.tags]
    assert script["data-sp-base"].startswith("/") and script["src"] == script["data-sp-base"] + "/consent/consent.js"
    assert script["data-sp-locale"] == lang


@pytest.mark.parametrize(("lang", "label"), [("en", "Do not sell or share my personal information"),
                                              ("fr", "Ne pas vendre ni partager mes informations personnelles"),
                                              ("pt-BR", "Não vender nem compartilhar minhas informações pessoais"),
                                              ("he", "אין למכור או לשתף את המידע האישי שלי"),
                                              ("ja", "個人情報の販売・共有をしない"),
                                              ("es", "No vender ni compartir mi información personal"),
                                              ("ar", "لا تبيعوا معلوماتي الشخصية ولا تشاركوها"),
                                              ("ko", "Do not sell or share my personal information")])
def test_the_privacy_choices_links_reach_the_do_not_sell_page_and_reopen_the_banner(lang, label):
    tags = parse(render("privacy_choices.liquid", lang=lang))
    links = [a for t, a in tags.tags if t == "a"]
    assert [a["href"] for a in links] == ["/apps/privacy/do-not-sell"]
    assert label in tags.text
    (button,) = [a for t, a in tags.tags if t == "button"]
    assert "data-sp-consent-open" in button and button["type"] == "button"
    hidden = parse(render("privacy_choices.liquid", settings={"show_do_not_sell": False}))
    assert [t for t, _ in hidden.tags if t == "a"] == []
