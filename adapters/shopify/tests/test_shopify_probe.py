"""``shopprivacy doctor`` contacts the shop: one query, a short timeout, no retries, one line per problem."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
import responses
from shopify_fakes import ENDPOINT, OPTIONS, Router, answer
from shopprivacy_shopify import ShopifyAdapter, ShopifyOptions
from shopprivacy_shopify.probe import FEATURE_SCOPES, probe

ALL_SCOPES = [{"handle": h} for h in ("write_customers", "write_own_subscription_contracts", "read_orders",
                                      "write_customer_data_erasure")]


def probe_answer(scopes: list[dict[str, str]]) -> dict[str, Any]:
    return answer({"shop": {"name": "Example Shop"}, "currentAppInstallation": {"accessScopes": scopes}})


def findings(*answers: Any) -> tuple[list[tuple[str, str]], Router]:
    router = Router().on("ShopPrivacyProbe", *answers)
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, ENDPOINT, callback=router)
        found = list(ShopifyAdapter(ShopifyOptions.from_mapping(OPTIONS)).doctor())
    return found, router


def test_a_working_token_with_every_scope_is_one_ok_line() -> None:
    found, router = findings(probe_answer(ALL_SCOPES))
    assert found == [("ok", "Admin API 2026-10 answered for example-shop.myshopify.com (shop 'Example Shop')")]
    assert router.ops() == ["ShopPrivacyProbe"]


def test_missing_scopes_are_named_with_their_feature() -> None:
    found, _ = findings(probe_answer([{"handle": "read_customers"}]))
    assert [level for level, _ in found] == ["ok", "warning"]
    warning = found[1][1]
    for feature, scope in FEATURE_SCOPES.items():
        assert (f"{scope} ({feature})" in warning) is (scope != "read_customers")


@pytest.mark.parametrize(("status", "says"), [
    (401, "set access_token in SHOPPRIVACY_PLATFORM_OPTIONS"),
    (403, "the token lacks a scope or the app is not installed"),
    (404, "check shop (the *.myshopify.com domain"),
    (503, "Shopify answered HTTP 503"),
])
def test_each_refusal_is_one_problem_line_with_its_fix_and_no_retry(status: int, says: str) -> None:
    found, router = findings((status, {"Retry-After": "1"}, {"errors": "no"}))
    assert len(found) == 1 and found[0][0] == "problem" and says in found[0][1]
    assert "\n" not in found[0][1] and router.ops() == ["ShopPrivacyProbe"]  # one try only


@pytest.mark.parametrize(("error", "says"), [
    (requests.ConnectionError("refused"), "cannot connect to example-shop.myshopify.com: check shop"),
    (requests.ReadTimeout("slow"), "no answer from example-shop.myshopify.com within 5 s"),
])
def test_an_unreachable_or_silent_shop_is_one_problem_line(error: Exception, says: str) -> None:
    found, router = findings(error)
    assert found == [("problem", found[0][1])] and says in found[0][1] and len(router.calls) == 1


def test_an_answer_the_adapter_cannot_read_is_a_problem_not_a_crash() -> None:
    found, _ = findings((200, {}, "<html>maintenance</html>"))
    assert found[0][0] == "problem" and "cannot read" in found[0][1]
    found, _ = findings({"errors": [{"message": "denied", "extensions": {"code": "ACCESS_DENIED"}}]})
    assert found[0][0] == "problem" and "ACCESS_DENIED" in found[0][1]


def test_a_shop_on_a_closed_port_fails_fast_without_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real socket: nothing listens on port 1, and the probe's own session has no urllib3 retries."""
    monkeypatch.setattr(ShopifyOptions, "endpoint", property(lambda self: "https://127.0.0.1:1/graphql.json"))
    started = time.monotonic()
    found = list(probe(ShopifyOptions.from_mapping(OPTIONS)))
    assert found[0][0] == "problem" and "cannot connect" in found[0][1]
    assert time.monotonic() - started < 5


def test_doctor_prints_the_line_and_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from shopprivacy import Keyset
    from shopprivacy.cli import main

    monkeypatch.setenv("SHOPPRIVACY_DATABASE_URL", f"sqlite:///{tmp_path}/sp.db")
    monkeypatch.setenv("SHOPPRIVACY_KEYSET", Keyset.generate().to_json())
    monkeypatch.setenv("SHOPPRIVACY_PLATFORM", "shopify")
    monkeypatch.setenv("SHOPPRIVACY_PLATFORM_OPTIONS", json.dumps(OPTIONS))
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    router = Router().on("ShopPrivacyProbe", (401, {}, {"errors": "[API] Invalid API key or access token"}))
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, ENDPOINT, callback=router)
        code = main(["doctor"])
    out = capsys.readouterr()
    assert code != 0 and "Traceback" not in out.out + out.err
    assert "Shopify refused the access token for example-shop.myshopify.com (HTTP 401)" in out.out
