"""The client: cost pacing, THROTTLED, HTTP retries with Retry-After, timeouts, specific errors."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import strategies as st
from shopify_fakes import ENDPOINT, FakeTime, Router, answer, cost, throttled
from shopprivacy_shopify import (
    AdminClient,
    CostThrottle,
    ShopifyAuthError,
    ShopifyGraphQLError,
    ShopifyHTTPError,
    ShopifyOptions,
    ShopifyResponseError,
    ShopifyThrottled,
    ShopifyUserError,
)
from shopprivacy_shopify.throttle import parse_cost

from shopprivacy.errors import PlatformError

Q = "query CustomerById($id: ID!) { customer(id: $id) { id } }"
OK = answer({"customer": {"id": "gid://shopify/Customer/1"}})


def make(options: ShopifyOptions, t: FakeTime, **kw: object) -> AdminClient:
    return AdminClient(options, sleep=t.sleep, throttle=CostThrottle(clock=t.clock, sleep=t.sleep), **kw)  # type: ignore[arg-type]


@responses.activate
def test_sends_token_and_variables(options: ShopifyOptions, fake_time: FakeTime) -> None:
    router = Router().on("CustomerById", OK)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    client = make(options, fake_time)
    assert client.execute("CustomerById", Q, {"id": "gid://shopify/Customer/1"}) == {
        "customer": {"id": "gid://shopify/Customer/1"}}
    sent = responses.calls[0].request
    assert sent.headers["X-Shopify-Access-Token"] == "shpat_0123456789abcdef"
    assert json.loads(sent.body)["variables"] == {"id": "gid://shopify/Customer/1"}
    assert client.bytes_received == len(responses.calls[0].response.content)
    assert fake_time.sleeps == []


@responses.activate
def test_nearly_empty_bucket_waits_instead_of_failing(options: ShopifyOptions, fake_time: FakeTime) -> None:
    # The first answer leaves 30 points with a 100-point query; the bucket refills 50 points a second.
    low = answer({"customer": {"id": "gid://shopify/Customer/1"}}, requested=100, available=30, rate=50)
    router = Router().on("CustomerById", low)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    client = make(options, fake_time)
    for _ in range(3):
        client.execute("CustomerById", Q, {"id": "gid://shopify/Customer/1"})
    # before the 2nd and 3rd query: (100 + 10 reserve - 30) / 50 = 1.6 s each; no THROTTLED answer at all
    assert fake_time.sleeps == pytest.approx([1.6, 1.6])
    assert client.throttle.waited == pytest.approx(3.2)
    assert client.retry_waited == 0


@responses.activate
def test_pacing_counts_the_refill_since_the_last_answer(options: ShopifyOptions, fake_time: FakeTime) -> None:
    low = answer({"customer": {"id": "gid://shopify/Customer/1"}}, requested=100, available=30, rate=50)
    responses.add_callback(responses.POST, ENDPOINT, callback=Router().on("CustomerById", low))
    client = make(options, fake_time)
    client.execute("CustomerById", Q, {"id": "x"})
    fake_time.now += 1.0  # 50 points came back meanwhile: 80 available, 110 needed
    client.execute("CustomerById", Q, {"id": "x"})
    assert fake_time.sleeps == pytest.approx([0.6])


@responses.activate
def test_throttled_answer_waits_for_the_bucket_then_succeeds(options: ShopifyOptions, fake_time: FakeTime) -> None:
    router = Router().on("CustomerById", throttled(requested=200, available=40), OK)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    client = make(options, fake_time)
    assert client.execute("CustomerById", Q, {"id": "x"})["customer"]["id"] == "gid://shopify/Customer/1"
    # (200 requested - 40 available) / 100 per second, then 0.1 s more for the 10-point reserve
    assert fake_time.sleeps == pytest.approx([1.6, 0.1])
    assert router.ops() == ["CustomerById", "CustomerById"]


@responses.activate
def test_throttled_every_time_raises_retryable_throttled(options: ShopifyOptions, fake_time: FakeTime) -> None:
    responses.add_callback(responses.POST, ENDPOINT, callback=Router().on("CustomerById", throttled()))
    client = make(options, fake_time, max_attempts=3)
    with pytest.raises(ShopifyThrottled) as info:
        client.execute("CustomerById", Q, {"id": "x"})
    assert info.value.retryable and info.value.retry_after is not None
    assert len(responses.calls) == 3


@responses.activate
def test_429_honours_retry_after(options: ShopifyOptions, fake_time: FakeTime) -> None:
    router = Router().on("CustomerById", (429, {"Retry-After": "7.0"}, "Too many requests"), OK)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    client = make(options, fake_time)
    client.execute("CustomerById", Q, {"id": "x"})
    assert fake_time.sleeps == [7.0]
    assert client.retry_waited == 7.0


@responses.activate
def test_5xx_and_timeouts_back_off_then_succeed(options: ShopifyOptions, fake_time: FakeTime) -> None:
    router = Router().on("CustomerById", (502, {}, "<html>bad gateway</html>"), requests.Timeout("read"),
                         requests.ConnectionError("reset"), OK)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    client = make(options, fake_time)
    client.execute("CustomerById", Q, {"id": "x"})
    assert fake_time.sleeps == [0.5, 1.0, 2.0]


@responses.activate
def test_5xx_every_time_raises_retryable_http_error(options: ShopifyOptions, fake_time: FakeTime) -> None:
    responses.add_callback(responses.POST, ENDPOINT,
                           callback=Router().on("CustomerById", (503, {"Retry-After": "120"}, "")))
    client = make(options, fake_time, max_attempts=2)
    with pytest.raises(ShopifyHTTPError) as info:
        client.execute("CustomerById", Q, {"id": "x"})
    assert info.value.status == 503 and info.value.retryable and info.value.retry_after == 120
    assert "CustomerById" in str(info.value)


@responses.activate
def test_auth_errors_are_not_retried(options: ShopifyOptions, fake_time: FakeTime) -> None:
    responses.add_callback(responses.POST, ENDPOINT,
                           callback=Router().on("CustomerById", (401, {}, '{"errors":"[API] Invalid API key"}')))
    client = make(options, fake_time)
    with pytest.raises(ShopifyAuthError) as info:
        client.execute("CustomerById", Q, {"id": "x"})
    assert not info.value.retryable and len(responses.calls) == 1


@responses.activate
def test_graphql_errors_name_the_query_and_codes_never_the_data(options: ShopifyOptions,
                                                                 fake_time: FakeTime) -> None:
    bad = {"errors": [{"message": "Variable $email of type String! was provided invalid value jane@example.com",
                       "locations": [{"line": 1, "column": 23}], "path": ["customerByIdentifier"],
                       "extensions": {"code": "ACCESS_DENIED"}}],
           "extensions": cost(requested=1, actual=1)}
    responses.add_callback(responses.POST, ENDPOINT, callback=Router().on("CustomerById", bad))
    client = make(options, fake_time)
    with pytest.raises(ShopifyGraphQLError) as info:
        client.execute("CustomerById", Q, {"email": "jane@example.com"})
    text = str(info.value)
    assert "CustomerById" in text and "ACCESS_DENIED" in text and "customerByIdentifier" in text
    assert "jane" not in text
    assert info.value.codes == ("ACCESS_DENIED",) and not info.value.retryable
    assert isinstance(info.value, PlatformError)


@responses.activate
def test_user_errors_raise_with_codes_and_fields(options: ShopifyOptions, fake_time: FakeTime) -> None:
    refused = answer({"customerEmailMarketingConsentUpdate": {"customer": None, "userErrors": [
        {"field": ["input", "customerId"], "message": "Customer jane@example.com not found", "code": "INVALID"}]}})
    responses.add_callback(responses.POST, ENDPOINT,
                           callback=Router().on("CustomerEmailMarketingConsentUpdate", refused))
    client = make(options, fake_time)
    with pytest.raises(ShopifyUserError) as info:
        client.mutate("CustomerEmailMarketingConsentUpdate",
                      "mutation CustomerEmailMarketingConsentUpdate { x }", {}, "customerEmailMarketingConsentUpdate")
    assert info.value.codes == ("INVALID",) and info.value.fields == ("input.customerId",)
    assert "jane" not in str(info.value) and not info.value.retryable


@responses.activate
def test_non_json_answer_is_a_retryable_response_error(options: ShopifyOptions, fake_time: FakeTime) -> None:
    responses.add_callback(responses.POST, ENDPOINT, callback=Router().on("CustomerById", (200, {}, "<html>")))
    with pytest.raises(ShopifyResponseError) as info:
        make(options, fake_time, max_attempts=3).execute("CustomerById", Q, {})
    assert info.value.retryable and len(responses.calls) == 3 and fake_time.sleeps == [0.5, 1.0]


@responses.activate
@pytest.mark.parametrize("body", ["<html><body>Service temporarily unavailable</body></html>",
                                  '{"data": {"customer": {"id": "gid://shop', "[1, 2]", '{"extensions": {}}'])
def test_a_malformed_200_is_retried_then_succeeds(options: ShopifyOptions, fake_time: FakeTime, body: str) -> None:
    router = Router().on("CustomerById", (200, {}, body), OK)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    assert make(options, fake_time).execute("CustomerById", Q, {})["customer"]["id"] == "gid://shopify/Customer/1"
    assert router.ops() == ["CustomerById", "CustomerById"]


@responses.activate
@pytest.mark.parametrize(("status", "header", "expected"), [(429, "3600", 3600.0), (503, "7200", 7200.0),
                                                            (429, "999999", 86400.0)])
def test_a_long_retry_after_is_handed_back_never_slept(options: ShopifyOptions, fake_time: FakeTime, status: int,
                                                       header: str, expected: float) -> None:
    router = Router().on("CustomerById", (status, {"Retry-After": header}, ""), OK)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    with pytest.raises(ShopifyHTTPError) as info:
        make(options, fake_time, max_wait=30).execute("CustomerById", Q, {})
    assert info.value.retryable and info.value.retry_after == expected
    assert fake_time.sleeps == [] and len(router.calls) == 1


@responses.activate
def test_a_throttle_wait_beyond_max_wait_is_handed_back(options: ShopifyOptions, fake_time: FakeTime) -> None:
    # (1000 requested - 0 available) / 100 per second: 10 s, more than max_wait
    router = Router().on("CustomerById", throttled(requested=1000, available=0), OK)
    responses.add_callback(responses.POST, ENDPOINT, callback=router)
    with pytest.raises(ShopifyThrottled) as info:
        make(options, fake_time, max_wait=5).execute("CustomerById", Q, {})
    assert info.value.retry_after == pytest.approx(10.0) and fake_time.sleeps == []


@responses.activate
def test_a_bulk_download_never_sleeps_past_max_wait(options: ShopifyOptions, fake_time: FakeTime) -> None:
    url = "https://storage.example/bulk.jsonl"
    responses.add(responses.GET, url, status=503, headers={"Retry-After": "600"})
    with pytest.raises(ShopifyHTTPError) as info:
        list(make(options, fake_time, max_wait=30).download_lines(url, operation="BulkDueScan"))
    assert info.value.retry_after == 600.0 and fake_time.sleeps == []


@given(st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=20), c, max_size=4),
                    max_leaves=12))
def test_parse_cost_never_raises(extensions: object) -> None:
    requested, status = parse_cost(extensions)
    assert requested is None or requested >= 0
    assert status is None or (status.maximum > 0 and status.restore_rate > 0)
    # and with a cost-shaped dict around arbitrary values
    parse_cost({"cost": {"requestedQueryCost": extensions, "throttleStatus": extensions}})
