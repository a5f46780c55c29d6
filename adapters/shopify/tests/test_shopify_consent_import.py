"""``shopprivacy consent import shopify``: the customers query paged by cursor, Shopify's states and levels as
imported proof, a resumed import asking for the page after its checkpoint, malformed answers refused."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from shopify_fakes import ENDPOINT, Router, answer, throttled
from shopprivacy_shopify import ShopifyAdapter, ShopifyResponseError
from shopprivacy_shopify.consent_import import consent_record

from shopprivacy import ShopPrivacy
from shopprivacy.cli import main


def customer(n: int, state: str = "SUBSCRIBED", at: str | None = "2026-11-24T09:00:00Z",
             level: str | None = "SINGLE_OPT_IN") -> dict[str, Any]:
    return {"id": f"gid://shopify/Customer/{n}", "defaultEmailAddress": {
        "emailAddress": f"c{n}@example.com", "marketingState": state, "marketingOptInLevel": level,
        "marketingUpdatedAt": at}}


def customers(nodes: list[Any], cursor: str | None) -> dict[str, Any]:
    return answer({"customers": {"nodes": nodes, "pageInfo": {"hasNextPage": cursor is not None,
                                                               "endCursor": cursor or "end"}}})


def test_a_customer_becomes_a_record_and_one_without_an_address_none() -> None:
    assert consent_record(customer(7, "INVALID", level=None)) == {
        "address": "c7@example.com", "list": "*", "state": "unsubscribed", "opt_in_level": "unknown",
        "consented_at": "2026-11-24T09:00:00Z", "source": "shopify:gid://shopify/Customer/7",
        "customer_ref": "gid://shopify/Customer/7"}
    assert consent_record({"id": "gid://shopify/Customer/8", "defaultEmailAddress": None}) is None
    assert consent_record("junk") == {"source": "shopify:?"}


@responses.activate
def test_import_pages_by_cursor_through_throttling_and_records_imported_proof(sp: ShopPrivacy, capsys) -> None:
    pages = [customers([customer(1), customer(2, "UNSUBSCRIBED"), customer(3, "PENDING")], "c1"),
             customers([customer(4, "SUBSCRIBED", at=None), "junk"], None)]
    router = Router().on("CustomersMarketingConsent", throttled(), *pages)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    assert main(["consent", "import", "shopify"], facade=lambda: sp) == 1  # two records refused
    out = capsys.readouterr()
    assert "imported 2, unchanged 0, skipped 1, failed 2 (5 records, 2 pages)" in out.out
    assert "record 4 (shopify:gid://shopify/Customer/4): a subscribed record needs consented_at" in out.err
    assert [c[1].get("after") for c in router.calls] == [None, None, "c1"]  # the throttled ask was repeated
    assert "c2@example.com" not in out.err and "c4@example.com" not in out.err
    sp.email.guard("c1@example.com", "newsletter")
    assert sp.email.is_suppressed("c2@example.com", "newsletter")
    (event,) = sp.email.subjects.history("c1@example.com")
    assert (event["action"], event["source"], event["at"]) == (
        "imported_opt_in", "import:single_opt_in:shopify:gid://shopify/Customer/1", "2026-11-24T09:00:00+00:00")
    router.queues["CustomersMarketingConsent"] = list(pages)
    assert main(["consent", "import", "shopify"], facade=lambda: sp) == 1
    assert "imported 0, unchanged 2, skipped 1, failed 2" in capsys.readouterr().out  # nothing twice
    sp.audit.verify()


@responses.activate
def test_a_failed_page_leaves_a_checkpoint_the_next_run_resumes_from(sp: ShopPrivacy, capsys) -> None:
    router = Router().on("CustomersMarketingConsent", customers([customer(1)], "c1"),
                         (500, {}, "oops"), customers([customer(2)], None))
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    sp.adapter.client.max_attempts = 1  # type: ignore[attr-defined]
    assert main(["consent", "import", "shopify"], facade=lambda: sp) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert sp.jobs.status("email.import:shopify:*")["status"] == "running"
    assert main(["consent", "import", "shopify"], facade=lambda: sp) == 0
    assert "(resumed): imported 2" in capsys.readouterr().out
    assert [c[1].get("after") for c in router.calls] == [None, "c1", "c1"]


@responses.activate
def test_an_answer_without_the_connection_is_refused(adapter: ShopifyAdapter) -> None:
    responses.add_callback(responses.POST, ENDPOINT,
                           callback=Router().on("CustomersMarketingConsent", answer({"customers": None})))
    with pytest.raises(ShopifyResponseError, match="no customers connection"):
        list(adapter.marketing_consent_pages(after=None, lists=["newsletter"]))
