"""Every GraphQL document the adapter can send, against Shopify's published Admin API schema of each
supported version; and every operation run end to end against answers executed from that schema."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from typing import Any

import pytest
from shopify_npm import npm_root, schema_file

NPM = npm_root()  # skips this module when Shopify's npm files are not there (outside `tox -e contracts`)

from datetime import datetime, timezone  # noqa: E402

import responses  # noqa: E402
from graphql import GraphQLInputObjectType  # noqa: E402
from shopify_fakes import OPTIONS, SHOP, FakeTime, contract  # noqa: E402
from shopify_schema import AdminSchema, SchemaShopify  # noqa: E402
from shopprivacy_shopify import (  # noqa: E402
    ShopifyAdapter,
    ShopifyOptions,
    bulk,
    consent_import,
    customers,
    probe,
    subscriptions,
)
from shopprivacy_shopify.contracts import LINES_PER_CONTRACT, bulk_due_query, due_query, lines_query  # noqa: E402
from shopprivacy_shopify.options import SUPPORTED_API_VERSIONS  # noqa: E402

from shopprivacy.platforms import RENEWAL_FIELDS, MarketingConsentUpdate, SaleOptOut  # noqa: E402
from shopprivacy.renewals import ALLOWED_FIELDS  # noqa: E402

DUE = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)

#: The adapter's fixed documents: every query or mutation text its modules define (the due scan's are built per
#: field set, below), found by reading the modules so a new document cannot be left out.
FIXED = {f"{module.__name__.rsplit('.', 1)[-1]}.{name}": value
         for module in (customers, subscriptions, bulk, probe, consent_import) for name, value in vars(module).items()
         if name.isupper() and isinstance(value, str) and value.lstrip().startswith(("query ", "mutation "))}


def every_generated_document() -> dict[str, str]:
    """The due scan's documents for every subset of the renewal fields (distinct texts only)."""
    names = sorted(RENEWAL_FIELDS)
    docs: dict[str, str] = {}
    for size in range(len(names) + 1):
        for fields in combinations(names, size):
            for build in (due_query, lines_query, bulk_due_query):
                docs.setdefault(build(fields), f"{build.__name__}({', '.join(fields)})")
            docs.setdefault(bulk_due_query(fields, extra_filter="id:>123"), f"bulk_due_query({fields}, id:>123)")
    return docs


@pytest.fixture
def shop(admin: AdminSchema) -> Iterator[tuple[ShopifyAdapter, SchemaShopify]]:
    """The adapter pinned to ``admin``'s version, talking to a fake Shopify that executes its documents."""
    fake = SchemaShopify(admin)
    options = ShopifyOptions.from_mapping({**OPTIONS, "api_version": admin.version})
    time = FakeTime()
    adapter = ShopifyAdapter(options, sleep=time.sleep, clock=time.clock)
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, f"https://{SHOP}/admin/api/{admin.version}/graphql.json", callback=fake)
        yield adapter, fake
    adapter.close()


def test_every_supported_version_is_published() -> None:
    published = sorted(p.name for p in schema_file(NPM, "x").parent.glob("admin_20*.json.gz"))
    for version in SUPPORTED_API_VERSIONS:
        assert f"admin_{version}.json.gz" in published, f"Shopify publishes no {version} schema: {published}"


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_documents_are_valid(admin: AdminSchema, name: str) -> None:
    assert admin.problems(FIXED[name]) == []


def test_every_generated_selection_is_valid(admin: AdminSchema) -> None:
    found = {name: problems for doc, name in every_generated_document().items()
             if (problems := admin.problems(doc))}
    assert found == {}, f"{len(found)} invalid documents, e.g. {next(iter(found.items()))}"


def _attempt_root(state: dict[str, Any]) -> dict[str, Any]:
    return {"subscriptionBillingAttemptCreate": {
        "subscriptionBillingAttempt": {"id": "gid://shopify/SubscriptionBillingAttempt/9", "state": state},
        "userErrors": []}}


def _failed(member: str, **fields: Any) -> dict[str, Any]:
    return {"__typename": "SubscriptionBillingAttemptFailedState", "error": {"__typename": member, **fields}}


def test_billing_attempt_states_map_from_the_answers_shopify_gives(
        admin: AdminSchema, shop: tuple[ShopifyAdapter, SchemaShopify]) -> None:
    adapter, fake = shop
    cases: list[tuple[dict[str, Any], tuple[str, str | None, str | None]]] = [
        ({"__typename": "SubscriptionBillingAttemptSuccessState", "order": {"id": "gid://shopify/Order/5"}},
         ("ready", "gid://shopify/Order/5", None)),
        ({"__typename": "SubscriptionBillingAttemptPendingState", "processing": True}, ("pending", None, None)),
        ({"__typename": "SubscriptionBillingAttemptActionRequiredState", "action": {}}, ("pending", None, None)),
        (_failed("SubscriptionBillingAttemptUnexpectedError", message="boom"),
         ("failed", None, "SubscriptionBillingAttemptUnexpectedError"))]
    for member, enum in (("SubscriptionBillingAttemptPaymentError", "SubscriptionBillingAttemptPaymentErrorCode"),
                         ("SubscriptionBillingAttemptGeneralError", "SubscriptionBillingAttemptGeneralErrorCode"),
                         ("SubscriptionBillingAttemptInventoryError",
                          "SubscriptionBillingAttemptInventoryErrorCode")):
        for code in admin.enum_values(enum):
            cases.append((_failed(member, code=code), ("failed", None, code)))
    for state, expected in cases:
        fake.on("SubscriptionBillingAttemptCreate", _attempt_root(state))
        result = adapter.create_billing_attempt("gid://shopify/SubscriptionContract/1", idempotency_key="rn_k",
                                                origin_time=DUE)
        assert (result.status, result.order_id, result.error_code) == expected, state
    assert len(fake.sent) == len(cases) > 20  # every code of every error member


def _contracts(variables: dict[str, Any]) -> dict[str, Any]:
    first = contract(1, lines=LINES_PER_CONTRACT, more_lines=True, email="jane@example.com")
    second = contract(2, next_billing="2027-01-20T09:00:00Z")
    page = [first, second] if variables.get("after") is None else [contract(3)]
    for node in page:
        node["deliveryMethod"]["address"]["provinceCode"] = "ARA"
    return {"subscriptionContracts": {"nodes": page, "pageInfo": {
        "hasNextPage": variables.get("after") is None, "endCursor": "c1"}}}


def _more_lines(variables: dict[str, Any]) -> dict[str, Any]:
    nodes = contract(1, lines=LINES_PER_CONTRACT + 2)["lines"]["nodes"]
    return {"subscriptionContract": {"lines": {"nodes": nodes, "pageInfo": {"hasNextPage": False,
                                                                             "endCursor": None}}}}


@pytest.mark.parametrize("fields", [ALLOWED_FIELDS, ALLOWED_FIELDS - {"email"}, {"payment_ref", "currency"},
                                    {"shipping_address", "amount"}])
def test_due_scan_reads_the_answers_shopify_gives(shop: tuple[ShopifyAdapter, SchemaShopify],
                                                  fields: frozenset[str]) -> None:
    adapter, fake = shop
    fake.on("DueSubscriptionContracts", _contracts).on("SubscriptionContractLines", _more_lines)
    due = list(adapter.iter_due_subscriptions(due_before=DUE, fields=fields))
    assert len(due) == 2 and all(set(d) == set(fields) for d in due)
    first = due[0]
    if "shipping_address" in fields:
        assert first["shipping_address"] == {"name": "Jane Doe", "line1": "1 Main St", "city": "Lyon",
                                             "region": "ARA", "postal_code": "69001", "country": "FR"}
    if "email" in fields:
        assert first["email"] == "jane@example.com"
    if "amount" in fields:  # 12 lines of 19.9 and 4.9 delivery
        assert first["amount"] == "243.7"
    if "lines" in fields:
        assert len(first["lines"]) == LINES_PER_CONTRACT + 2
    assert [op for op, _, _ in fake.sent].count("DueSubscriptionContracts") == 2


def _customer(variables: dict[str, Any]) -> dict[str, Any]:
    address = {"firstName": "Jane", "lastName": "Doe", "company": None, "address1": "1 Main St", "address2": None,
               "city": "Lyon", "provinceCode": None, "countryCodeV2": "FR", "zip": "69001", "phone": None}
    orders = {"nodes": [{"id": "gid://shopify/Order/5", "name": "#1005", "createdAt": "2026-10-01T10:00:00Z",
                         "currencyCode": "EUR",
                         "totalPriceSet": {"shopMoney": {"amount": "24.8", "currencyCode": "EUR"}},
                         "shippingAddress": address, "billingAddress": None,
                         "lineItems": {"nodes": [{"name": "Coffee", "sku": "COF-1", "quantity": 1}]}}],
              "pageInfo": {"hasNextPage": False, "endCursor": None}}
    return {"customer": {
        "id": variables["id"], "firstName": "Jane", "lastName": "Doe", "note": None, "tags": ["vip"],
        "locale": "fr", "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
        "defaultEmailAddress": {"emailAddress": "jane@example.com", "marketingState": "SUBSCRIBED",
                                "marketingOptInLevel": "CONFIRMED_OPT_IN", "marketingUpdatedAt": None},
        "defaultPhoneNumber": None, "addressesV2": {"nodes": [address]}, "orders": orders}}


def test_customer_operations_against_the_schema(shop: tuple[ShopifyAdapter, SchemaShopify]) -> None:
    adapter, fake = shop
    gid = "gid://shopify/Customer/7"
    fake.on("CustomerById", {"customer": {"id": gid}})
    fake.on("CustomerByEmail", {"customerByIdentifier": {"id": gid}})
    fake.on("CustomerMarketingConsent", {"customer": {"id": gid, "defaultEmailAddress": {"marketingUpdatedAt": None}}})
    fake.on("CustomerEmailMarketingConsentUpdate",
            {"customerEmailMarketingConsentUpdate": {"customer": {"id": gid}, "userErrors": []}})
    fake.on("CustomerRequestDataErasure", {"customerRequestDataErasure": {"customerId": gid, "userErrors": []}})
    fake.on("CustomerExport", _customer).on("CustomerExportOrders", _customer)

    ref = adapter.find_customer(email="jane@example.com")
    assert ref is not None and ref.id == gid
    assert adapter.find_customer(customer_id="7") is not None
    for subscribed, level in ((True, "confirmed_opt_in"), (True, "single_opt_in"), (False, "unknown")):
        adapter.set_marketing_consent(MarketingConsentUpdate(list_id="news", customer_id=gid, subscribed=subscribed,
                                                             opt_in_level=level, consent_updated_at=DUE),
                                      idempotency_key="k")
    export = adapter.export_customer(gid)
    assert export["addresses"][0]["countryCodeV2"] == "FR"
    assert export["orders"][0]["lineItems"] == [{"name": "Coffee", "sku": "COF-1", "quantity": 1}]
    assert adapter.erase_customer(gid, idempotency_key="k").pending
    consent = [v for op, _, v in fake.sent if op == "CustomerEmailMarketingConsentUpdate"]
    assert [c["input"]["emailMarketingConsent"]["marketingState"] for c in consent] == [
        "SUBSCRIBED", "SUBSCRIBED", "UNSUBSCRIBED"]
    assert [op for op, _, _ in fake.sent].count("CustomerMarketingConsent") == 3  # the held consent is read first


def test_sale_opt_out_against_the_schema(shop: tuple[ShopifyAdapter, SchemaShopify]) -> None:
    """dataSaleOptOut takes the e-mail address: a customer known by id is read for it first; the answer's
    customerId is the receipt's."""
    adapter, fake = shop
    gid = "gid://shopify/Customer/7"
    fake.on("CustomerEmailAddress", {"customer": {"id": gid, "defaultEmailAddress": {"emailAddress": "j@example.com"}}})
    fake.on("DataSaleOptOut", {"dataSaleOptOut": {"customerId": gid, "userErrors": []}})
    got = adapter.opt_out_of_sale(SaleOptOut(customer_id="7"), idempotency_key="k")
    assert (got.customer_id, got.found, got.where) == (gid, True, "customer.dataSaleOptOut")
    assert [v for op, _, v in fake.sent if op == "DataSaleOptOut"] == [{"email": "j@example.com"}]
    adapter.opt_out_of_sale(SaleOptOut(email="k@example.com"), idempotency_key="k2")
    assert [op for op, _, _ in fake.sent].count("CustomerEmailAddress") == 1  # an address needs no lookup


def test_bulk_scan_document_and_polling_against_the_schema(shop: tuple[ShopifyAdapter, SchemaShopify]) -> None:
    adapter, fake = shop
    admin = fake.schema

    def run(variables: dict[str, Any]) -> dict[str, Any]:
        assert admin.problems(variables["query"]) == []  # the bulk query travels as a string: check it too
        return {"bulkOperationRunQuery": {"bulkOperation": {"id": "gid://shopify/BulkOperation/1",
                                                            "status": "CREATED"}, "userErrors": []}}

    fake.on("BulkDueScan", run).on("BulkOperationStatus", {"node": {
        "__typename": "BulkOperation", "id": "gid://shopify/BulkOperation/1", "status": "COMPLETED",
        "errorCode": None, "objectCount": "0", "url": None}})
    assert list(adapter.iter_due_subscriptions_bulk(due_before=DUE, fields=ALLOWED_FIELDS,
                                                    after_id="gid://shopify/SubscriptionContract/5")) == []
    assert [op for op, _, _ in fake.sent] == ["BulkDueScan", "BulkOperationStatus"]


def test_doctor_probe_reads_the_answer_shopify_gives(shop: tuple[ShopifyAdapter, SchemaShopify]) -> None:
    adapter, fake = shop
    fake.on("ShopPrivacyProbe", {"shop": {"name": "Example Shop"},
                                 "currentAppInstallation": {"accessScopes": [{"handle": "read_customers"}]}})
    found = list(adapter.doctor())
    assert found[0] == ("ok", f"Admin API {adapter.options.api_version} answered for {adapter.options.shop} "
                              "(shop 'Example Shop')")
    assert found[1][0] == "warning" and "write_own_subscription_contracts (billing attempts)" in found[1][1]


def test_correction_and_erasure_read_back_against_the_schema(shop: tuple[ShopifyAdapter, SchemaShopify]) -> None:
    """``customerUpdate`` takes the corrected fields as Shopify's ``CustomerInput`` (none of them deprecated), and
    the read-back after an erasure reads the answers Shopify gives for a customer still there and one erased."""
    adapter, fake = shop
    gid = "gid://shopify/Customer/7"
    present = [True, True, False]
    fake.on("CustomerById", lambda _: {"customer": {"id": gid} if present.pop(0) else None})
    fake.on("CustomerRectify", {"customerUpdate": {"customer": {"id": gid}, "userErrors": []}})
    got = adapter.rectify_customer(gid, {"email": "jane.doe@example.net", "first_name": "Jane", "last_name": "Doe",
                                         "phone": "+33612345678", "address": "1 Rue de la Paix"},
                                   idempotency_key="k")
    assert set(got.corrected) == {"email", "first_name", "last_name", "phone"} and set(got.manual) == {"address"}
    (sent,) = [v["input"] for op, _, v in fake.sent if op == "CustomerRectify"]
    customer_input = fake.schema.schema.get_type("CustomerInput")
    assert isinstance(customer_input, GraphQLInputObjectType)
    for name in sent:
        assert name in customer_input.fields and customer_input.fields[name].deprecation_reason is None, name
    assert adapter.verify_erasure(gid).pending
    assert adapter.verify_erasure(gid).erased


def _consent_customers(variables: dict[str, Any]) -> dict[str, Any]:
    """Two pages: every marketing state Shopify has, a customer without an address, a null level and time."""
    from shopprivacy_shopify.consent_import import IMPORT_PAGE_SIZE

    assert variables["first"] == IMPORT_PAGE_SIZE
    states = ["SUBSCRIBED", "UNSUBSCRIBED", "PENDING", "NOT_SUBSCRIBED", "INVALID"]
    if variables.get("after") is None:
        nodes = [{"id": f"gid://shopify/Customer/{i}", "defaultEmailAddress": {
            "emailAddress": f"c{i}@example.com", "marketingState": state,
            "marketingOptInLevel": "CONFIRMED_OPT_IN" if i else None,
            "marketingUpdatedAt": "2026-11-24T09:00:00Z" if state != "NOT_SUBSCRIBED" else None}}
            for i, state in enumerate(states)]
        return {"customers": {"nodes": [*nodes, {"id": "gid://shopify/Customer/9", "defaultEmailAddress": None}],
                              "pageInfo": {"hasNextPage": True, "endCursor": "c1"}}}
    return {"customers": {"nodes": [{"id": "gid://shopify/Customer/10", "defaultEmailAddress": {
        "emailAddress": "c10@example.com", "marketingState": "SUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN",
        "marketingUpdatedAt": "2026-11-25T09:00:00+01:00"}}], "pageInfo": {"hasNextPage": False, "endCursor": "c2"}}}


def test_consent_import_reads_the_answers_shopify_gives(admin: AdminSchema,
                                                        shop: tuple[ShopifyAdapter, SchemaShopify]) -> None:
    """The import's customers query executed against the schema: every ``CustomerEmailAddressMarketingState``
    maps to a state the importer takes, and every record the answers give parses."""
    from shopprivacy_shopify.consent_import import STATES

    from shopprivacy.email.importing import parse_record

    assert sorted(STATES) == sorted(admin.enum_values("CustomerEmailAddressMarketingState"))
    adapter, fake = shop
    fake.on("CustomersMarketingConsent", _consent_customers)
    pages = list(adapter.marketing_consent_pages(after=None, lists=["newsletter"]))
    assert [p.cursor for p in pages] == ["c1", None]
    parsed = [parse_record(r) for p in pages for r in p.records]
    assert [(r.state, r.opt_in_level) for r in parsed] == [
        ("subscribed", "unknown"), ("unsubscribed", "confirmed_opt_in"), ("pending", "confirmed_opt_in"),
        ("not_subscribed", "confirmed_opt_in"), ("unsubscribed", "confirmed_opt_in"), ("subscribed", "single_opt_in")]
    assert parsed[-1].source == "shopify:gid://shopify/Customer/10"
    assert parsed[-1].consented_at == datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
    assert [v.get("after") for op, _, v in fake.sent] == [None, "c1"]
    resumed = list(adapter.marketing_consent_pages(after="c1", lists=["newsletter"]))
    assert len(resumed) == 1 and fake.sent[-1][2]["after"] == "c1"
