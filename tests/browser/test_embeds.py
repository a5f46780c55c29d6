"""Click-to-load placeholders: an embed (video, map) stays blocked behind a placeholder until its category is
granted; the placeholder grants it (one proof row), a withdrawal unloads it and puts the placeholder back."""

from __future__ import annotations

from .conftest import wait_until
from .test_banner import consent_cookie, history, open_shop, posted

EMBED = "/track/embed.html"


def test_an_embed_shows_a_placeholder_until_its_category_is_granted(page, shop):
    open_shop(page, shop)
    placeholder = page.locator(".sp-cc-embed")
    assert placeholder.count() == 1 and placeholder.is_visible()
    assert page.locator("iframe").is_hidden() and page.get_attribute("iframe", "src") is None
    assert "127.0.0.1" in placeholder.inner_text() and "Marketing" in placeholder.inner_text()
    button = placeholder.locator("button")
    assert button.inner_text() == "Allow Marketing"
    box = button.bounding_box()
    assert box["height"] >= 24 and box["width"] >= 24  # WCAG 2.2 2.5.8 target size
    assert shop.hits[EMBED] == 0
    with posted(page):
        button.click()
    wait_until(page, "document.querySelector('iframe').getAttribute('src') === '/track/embed.html'")
    assert page.locator(".sp-cc-embed").count() == 0 and page.locator("iframe").is_visible()
    assert page.locator(".sp-cc").count() == 0  # the choice closed the banner
    rows = history(shop, page.context)
    assert [(r["method"], r["granted"]) for r in rows] == [("custom", ["marketing"])]
    assert shop.hits["/track/analytics.js"] == 0  # only the category asked for
    page.reload()  # kept: the embed loads at once, no placeholder, no banner
    wait_until(page, "document.querySelector('iframe').getAttribute('src') === '/track/embed.html'")
    assert page.locator(".sp-cc-embed").count() == 0 and page.locator(".sp-cc").count() == 0


def test_a_withdrawal_unloads_the_embed_and_brings_the_placeholder_back(page, shop):
    open_shop(page, shop)
    with posted(page):
        page.click(".sp-cc-accept")
    wait_until(page, "document.querySelector('iframe').getAttribute('src') === '/track/embed.html'")
    page.click(".sp-cc-open")
    page.uncheck("#sp-cc-marketing")
    with posted(page):
        page.click(".sp-cc-save")
    wait_until(page, "document.querySelector('iframe').getAttribute('src') === 'about:blank'")
    assert page.locator("iframe").is_hidden() and page.locator(".sp-cc-embed").is_visible()
    assert [r["method"] for r in history(shop, page.context)] == ["accept_all", "withdraw"]


def test_an_embed_added_later_gets_its_placeholder_and_loads_when_granted(page, shop):
    open_shop(page, shop)
    with posted(page):
        page.click(".sp-cc-reject")
    page.evaluate("""() => { const f = document.createElement('iframe'); f.title = 'map'; f.id = 'late';
        f.setAttribute('data-consent', 'marketing'); f.setAttribute('data-src', '/track/embed.html?map');
        f.setAttribute('data-sp-provider', 'Maps Inc.'); document.querySelector('main').appendChild(f); }""")
    wait_until(page, "document.querySelectorAll('.sp-cc-embed').length === 2")
    late = page.locator("#late")
    assert late.is_hidden() and "Maps Inc." in page.locator(".sp-cc-embed").nth(1).inner_text()
    with posted(page):
        page.locator(".sp-cc-embed").nth(1).locator("button").click()
    wait_until(page, "document.getElementById('late').getAttribute('src') === '/track/embed.html?map'")
    assert page.locator(".sp-cc-embed").count() == 0  # both marketing embeds load
    rows = history(shop, page.context)
    assert [(r["method"], r["granted"]) for r in rows] == [("reject_all", []), ("custom", ["marketing"])]


def test_under_gpc_the_placeholder_is_an_explicit_opt_in(new_context, shop):
    context = new_context(extra_http_headers={"Sec-GPC": "1"})
    context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})")
    page = context.new_page()
    open_shop(page, shop)
    with posted(page):
        page.locator(".sp-cc-embed button").click()
    wait_until(page, "document.querySelector('iframe').getAttribute('src') === '/track/embed.html'")
    row = history(shop, context)[-1]
    assert row["granted"] == ["marketing"] and row["gpc"] is True
    # the click is the visitor's own explicit opt-in for that category, so it wins over the signal
    assert shop.sp.consent.state(consent_cookie(context), {"Sec-GPC": "1"}).allows("marketing")
