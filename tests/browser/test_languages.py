"""The banner's languages in Chromium: a right-to-left language (``he``) and one in another script (``ja``) show
their own catalog's texts, pass axe-core, and the page fetches exactly one language (one configuration) and
never another language's file. ``he`` and ``ja`` ship with the catalogs of docs/languages.md."""

from __future__ import annotations

from importlib import resources

import pytest

from shopprivacy.consent.settings import ConsentSettings
from shopprivacy.i18n import catalog, direction

from .shop_app import AXE_PATH
from .storefront import Storefront
from .test_banner import _axe_path, open_shop

PACKAGE = "shopprivacy.consent.static"


def texts(tag: str) -> dict[str, str]:
    """The banner texts of ``tag``, failing (not falling back to English) when the language is not shipped."""
    if not resources.files(PACKAGE).joinpath("locales", f"{tag}.json").is_file():
        pytest.fail(f"consent/static/locales/{tag}.json is not shipped (docs/languages.md lists it)")
    t = catalog(PACKAGE, tag)
    assert t["accept"] != catalog(PACKAGE, "en")["accept"]
    return t


@pytest.fixture
def storefront(make_shop):
    front = Storefront("127.0.0.2")
    shop = make_shop(consent=ConsentSettings(allowed_origins=[front.origin]))
    front.backend = shop.base + "/privacy"
    front.start()
    yield front, shop
    front.stop()


def axe_clean(page, url: str, where: str) -> None:
    """axe-core over both layers of the banner (from the shop's origin: its CSP allows it)."""
    _axe_path()
    page.add_script_tag(url=url)
    for layer in ("first", "second"):
        if layer == "second":
            page.click(".sp-cc-customize")
        found = page.evaluate("async () => (await axe.run(document.querySelector('.sp-cc'))).violations")
        assert found == [], f"{where} {layer} layer: {[(v['id'], v['help']) for v in found]}"


@pytest.mark.parametrize(("tag", "page_lang", "browser_locale"), [
    ("he", "he-IL", "en-US"),  # the page's <html lang> decides
    ("ja", "", "ja-JP"),  # no <html lang>: the browser's languages decide
])
def test_a_one_tag_banner_fetches_one_language_and_shows_it(new_context, storefront, tag, page_lang,
                                                          browser_locale):
    front, _ = storefront
    t = texts(tag)
    context = new_context(reduced_motion="reduce", locale=browser_locale)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{front.origin}/?lang={page_lang}")
    page.wait_for_selector(".sp-cc")
    banner = page.locator(".sp-cc")
    assert banner.get_attribute("lang") == tag and banner.get_attribute("dir") == direction(tag)
    assert page.inner_text("#sp-cc-title") == t["title"] and page.inner_text(".sp-cc-accept") == t["accept"]
    assert page.inner_text(".sp-cc-reject") == t["reject"]
    configs = [u for u in requested if "/consent/config" in u]
    assert len(configs) == 1, requested
    assert f"locale={page_lang or browser_locale}" in configs[0]  # the page's language, else the browser's
    assert not [u for u in requested if "/locales/" in u or u.split("?")[0].endswith(".json")], requested
    page.click(".sp-cc-customize")
    assert page.inner_text(".sp-cc-save") == t["save"]
    assert len([u for u in requested if "/consent/config" in u]) == 1  # the second layer fetched nothing more


@pytest.mark.parametrize("tag", ["he", "ja"])
def test_the_inline_banner_shows_the_language_passes_axe_and_fetches_no_language(page, shop, tag):
    t = texts(tag)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    open_shop(page, shop, tag)
    assert page.get_attribute(".sp-cc", "dir") == direction(tag) and page.get_attribute(".sp-cc", "lang") == tag
    assert page.inner_text(".sp-cc-accept") == t["accept"] and page.inner_text("#sp-cc-title") == t["title"]
    css_direction = page.evaluate("getComputedStyle(document.querySelector('.sp-cc')).direction")
    assert css_direction == ("rtl" if tag == "he" else "ltr")
    assert not [u for u in requested if "/consent/config" in u or "/locales/" in u], requested
    axe_clean(page, AXE_PATH, tag)
