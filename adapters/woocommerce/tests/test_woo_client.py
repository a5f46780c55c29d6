import json

import pytest
import requests
import responses
from hypothesis import given
from hypothesis import strategies as st
from shopprivacy_woocommerce import (
    WooAuthError,
    WooClient,
    WooCommerceError,
    WooCommerceOptions,
    WooInvalidRequest,
    WooNotFound,
    WooRateLimited,
    WooServerError,
    WooUnavailable,
)
from shopprivacy_woocommerce.client import object_id, parse_retry_after
from shopprivacy_woocommerce.errors import error_for

URL = "https://shop.example/wp-json/wc/v3/customers"
ERR_404 = {"code": "woocommerce_rest_invalid_id", "message": "Invalid ID.", "data": {"status": 404}}


@pytest.fixture
def client(options_factory, sleeps):
    c = WooClient(options_factory(max_retries=3), sleep=sleeps)
    yield c
    c.close()


def test_every_read_sends_fields_and_basic_auth(rsps, client):
    rsps.get(URL, json=[{"id": 1}], headers={"X-WP-Total": "1", "X-WP-TotalPages": "1"})
    assert client.get("customers", fields=("id", "email"), operation="GET customers") == [{"id": 1}]
    sent = rsps.calls[0].request
    assert "_fields=id%2Cemail" in sent.url
    assert sent.headers["Authorization"].startswith("Basic ")
    with pytest.raises(Exception, match="_fields"):
        client.get("customers", fields=(), operation="GET customers")


def test_pagination_over_many_pages(shop, client):
    for i in range(1234):
        shop.add_customer(f"c{i}@example.com")
    got = list(client.paginate("customers", fields=("id",), operation="GET customers"))
    assert len(got) == 1234
    assert len({c["id"] for c in got}) == 1234
    assert set(got[0]) == {"id"}
    assert shop.calls.count(("GET", "wc/v3/customers")) == 13  # 100 per page, X-WP-TotalPages = 13


def test_pagination_without_total_pages_header_stops_on_short_page(rsps, client):
    rsps.get(URL, json=[{"id": i} for i in range(100)])
    rsps.get(URL, json=[{"id": 1000}])
    assert len(list(client.paginate("customers", fields=("id",), operation="GET customers"))) == 101


def test_429_retry_after_is_honoured(rsps, client, sleeps):
    rsps.get(URL, status=429, headers={"Retry-After": "3"}, json={"code": "too_many", "message": "slow down"})
    rsps.get(URL, json=[], headers={"X-WP-TotalPages": "0"})
    assert client.get("customers", fields=("id",), operation="GET customers") == []
    assert sleeps == [3.0]


def test_429_with_long_retry_after_goes_back_to_the_caller(rsps, client, sleeps):
    rsps.get(URL, status=429, headers={"Retry-After": "120"}, json={"code": "rate_limited", "message": "x"})
    with pytest.raises(WooRateLimited) as info:
        client.get("customers", fields=("id",), operation="GET customers")
    assert info.value.retry_after == 120.0
    assert info.value.retryable
    assert sleeps == []


def test_5xx_retried_then_reported(rsps, client, sleeps):
    for _ in range(4):
        rsps.get(URL, status=503, body="<html>maintenance</html>")
    with pytest.raises(WooServerError) as info:
        client.get("customers", fields=("id",), operation="GET customers")
    assert info.value.status == 503
    assert info.value.retryable
    assert len(sleeps) == 3
    assert len(rsps.calls) == 4


def test_5xx_then_success(rsps, client):
    rsps.get(URL, status=502)
    rsps.get(URL, json=[{"id": 7}])
    assert client.get("customers", fields=("id",), operation="GET customers") == [{"id": 7}]


def test_timeouts_are_retried_then_unavailable(rsps, client, sleeps):
    for _ in range(4):
        rsps.get(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(WooUnavailable, match="no answer"):
        client.get("customers", fields=("id",), operation="GET customers")
    assert len(sleeps) == 3


def test_timeout_then_success(rsps, client):
    rsps.get(URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    rsps.get(URL, json=[{"id": 1}])
    assert client.get("customers", fields=("id",), operation="GET customers") == [{"id": 1}]


@pytest.mark.parametrize(("status", "body", "exc", "retryable"), [
    (404, ERR_404, WooNotFound, False),
    (401, {"code": "woocommerce_rest_cannot_view", "message": "Sorry", "data": {"status": 401}}, WooAuthError, False),
    (400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): email", "data": {"status": 400}},
     WooInvalidRequest, False),
])
def test_wordpress_errors_map_to_specific_exceptions(rsps, client, status, body, exc, retryable):
    rsps.get(URL, status=status, json=body)
    with pytest.raises(exc) as info:
        client.get("customers", fields=("id",), operation="GET customers (by e-mail)",
                   params={"email": "jane@example.com"})
    assert info.value.code == body["code"]
    assert info.value.retryable is retryable
    assert "jane@example.com" not in str(info.value)
    assert body["message"] not in str(info.value)


def test_error_message_never_echoes_the_body(rsps, client):
    rsps.get(URL, status=400, json={"code": "x", "message": "jane@example.com is not valid", "data": {}})
    with pytest.raises(WooInvalidRequest) as info:
        client.get("customers", fields=("id",), operation="GET customers")
    assert "jane" not in str(info.value)


def test_non_json_success_and_redirects(rsps, client):
    rsps.get(URL, body="<html>login</html>", status=200)
    with pytest.raises(WooUnavailable, match="not JSON"):
        client.get("customers", fields=("id",), operation="GET customers")
    rsps.replace(responses.GET, URL, status=301, headers={"Location": "https://www.shop.example/"})
    with pytest.raises(WooUnavailable, match="redirected") as info:
        client.get("customers", fields=("id",), operation="GET customers")
    assert not info.value.retryable


def test_object_ids_refuse_path_tricks():
    assert object_id(42) == "42"
    for bad in ("../settings", "1/2", "", "0", "-3", "1e3", "٣"):
        with pytest.raises(Exception, match="positive integer"):
            object_id(bad)


def test_retry_after_formats():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@given(st.text(max_size=80))
def test_retry_after_never_raises(value):
    result = parse_retry_after(value)
    assert result is None or 0 <= result <= 86_400


@given(st.integers(min_value=300, max_value=599),
       st.one_of(st.none(), st.text(max_size=50), st.dictionaries(st.text(max_size=10),
                                                                    st.one_of(st.text(max_size=20), st.integers()))))
def test_error_mapping_is_total_and_discreet(status, body):
    err = error_for(status, body, operation="GET customers")
    assert isinstance(err, WooCommerceError)
    assert err.status == status
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, str) and len(value) > 3 and value != err.code:
                assert value not in str(err).replace("GET customers", "")


@given(st.binary(max_size=300), st.integers(min_value=200, max_value=599))
def test_any_answer_gives_data_or_a_woocommerce_error(body, status):
    c = WooClient(WooCommerceOptions.parse({"site_url": "https://shop.example", "consumer_key": "ck_test_key_1",
                                            "consumer_secret": "cs_test_secret_1", "max_retries": "0"}),
                  sleep=lambda s: None)
    with responses.RequestsMock() as mock:
        mock.get(URL, body=body, status=status)
        try:
            c.get("customers", fields=("id",), operation="GET customers")
        except WooCommerceError:
            pass
        else:
            assert 200 <= status < 300
            json.loads(body or b"null")
    c.close()
