"""``shopprivacy consent import woocommerce``: the customers' consent meta paged in id order, one record per list,
the SDK's own mirror left out, malformed entries reported, a resumed import asking for the page after its
checkpoint."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from shopprivacy_woocommerce import WooCommerceAdapter
from shopprivacy_woocommerce.consent_import import consent_records
from shopprivacy_woocommerce.testing import FakeWooCommerce

from shopprivacy import ShopPrivacy
from shopprivacy.cli import main
from shopprivacy.errors import PlatformError


def consent(subscribed: Any, at: str | None = "2026-11-24T09:00:00+00:00", **kw: Any) -> dict[str, Any]:
    return {"subscribed": subscribed, "opt_in_level": kw.pop("level", "confirmed_opt_in"), "updated_at": at,
            "source": kw.pop("source", "mailpoet")}


def customer(shop: FakeWooCommerce, email: str, **lists: Any) -> int:
    return shop.add_customer(email, meta_data=[shop.meta(f"shopprivacy_marketing_{lid}", value)
                                               for lid, value in lists.items()])


def test_a_customer_gives_one_record_per_list_it_carries() -> None:
    customer_ = {"id": 5, "email": "jane@example.com", "meta_data": [
        {"id": 1, "key": "shopprivacy_marketing_newsletter", "value": consent(True, "2026-11-24T09:00:00")},
        {"id": 2, "key": "shopprivacy_marketing_offers", "value": consent(False, source="shopprivacy")},
        {"id": 3, "key": "shopprivacy_marketing_vip", "value": "yes"},
        {"id": 4, "key": "_other", "value": 1}]}
    assert consent_records(customer_, ["newsletter", "offers", "vip", "news2"]) == [
        {"address": "jane@example.com", "list": "newsletter", "source": "woocommerce:customer/5", "customer_ref": "5",
         "state": "subscribed", "opt_in_level": "confirmed_opt_in", "consented_at": "2026-11-24T09:00:00+00:00"},
        {"address": "jane@example.com", "list": "vip", "source": "woocommerce:customer/5", "customer_ref": "5",
         "state": "malformed meta"}]


def test_import_pages_through_the_customers_and_records_imported_proof(
        sp: ShopPrivacy, shop: FakeWooCommerce, adapter: WooCommerceAdapter, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, rsps: Any) -> None:
    monkeypatch.setattr(adapter.client, "options", adapter.client.options.model_copy(update={"per_page": 2}))
    customer(shop, "a@example.com", newsletter=consent(True))
    customer(shop, "b@example.com", newsletter=consent(False, None, level="unknown"))
    customer(shop, "c@example.com")
    customer(shop, "d@example.com", newsletter=consent(True, None))
    customer(shop, "e@example.com", newsletter=consent(True, source="shopprivacy"))
    assert main(["consent", "import", "woocommerce"], facade=lambda: sp) == 1
    out = capsys.readouterr()
    assert out.out.strip() == ("consent import woocommerce: imported 2, unchanged 0, skipped 0, failed 1 "
                               "(3 records, 3 pages)")
    assert out.err.startswith("refused: record 3 (woocommerce:customer/103): a subscribed record needs consented_at")
    asked = [dict(parse_qsl(urlsplit(c.request.url).query)) for c in rsps.calls]
    assert [(q["page"], q["per_page"], q["orderby"], q["order"], q["role"]) for q in asked] == [
        (str(n), "2", "id", "asc", "all") for n in (1, 2, 3)]
    assert {q["_fields"] for q in asked} == {"id,email,meta_data"}
    sp.email.guard("a@example.com", "newsletter")
    assert sp.email.is_suppressed("b@example.com", "newsletter")
    (event,) = sp.email.subjects.history("a@example.com")
    assert (event["action"], event["source"]) == ("imported_opt_in",
                                                  "import:confirmed_opt_in:woocommerce:customer/100")
    assert main(["consent", "import", "woocommerce"], facade=lambda: sp) == 1
    assert "imported 0, unchanged 2" in capsys.readouterr().out  # nothing twice
    sp.audit.verify()


def test_a_resumed_import_asks_for_the_page_after_its_checkpoint(
        sp: ShopPrivacy, shop: FakeWooCommerce, adapter: WooCommerceAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapter.client, "options", adapter.client.options.model_copy(update={"per_page": 1}))
    for i in range(3):
        customer(shop, f"c{i}@example.com", newsletter=consent(True))
    asked: list[str | None] = []
    real = adapter.marketing_consent_pages

    def failing(*, after: str | None, lists: Any) -> Any:
        asked.append(after)
        for n, page in enumerate(real(after=after, lists=lists)):
            if after is None and n == 2:
                raise PlatformError("the shop went away")
            yield page

    monkeypatch.setattr(adapter, "marketing_consent_pages", failing)
    with pytest.raises(PlatformError):
        sp.email.importing.run_source(adapter, name="woocommerce")
    report = sp.email.importing.run_source(adapter, name="woocommerce")
    assert asked == [None, "3"] and report.resumed and (report.imported, report.pages) == (3, 3)


def test_a_list_id_the_meta_key_cannot_hold_is_refused_before_any_request(adapter: WooCommerceAdapter,
                                                                          shop: FakeWooCommerce) -> None:
    from shopprivacy.errors import InvalidInput

    with pytest.raises(InvalidInput):
        next(adapter.marketing_consent_pages(after=None, lists=["news letter"]))
    assert not shop.calls
