"""Two-way SMS consent sync against Shopify's own material: the ``customers_marketing_consent/update`` body's
fields and states are the Admin schema's ``CustomerSmsMarketingConsentState``; deliveries signed by
``@shopify/shopify-api`` (node) are applied in one ``run-due``, forged ones refused; SMS consent recorded in the
SDK (opt-in, keyword STOP) reaches a Shopify that executes ``customerSmsMarketingConsentUpdate`` against the
schema, in order, only for numbers tied to a customer, and never echoes Shopify's own changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from shopify_npm import npm_root, run_node_signer

NPM = npm_root()  # skips this module when Shopify's npm files are not there (outside `tox -e contracts`)

import responses  # noqa: E402
from shopify_fakes import OPTIONS, SECRET, SHOP, FakeTime  # noqa: E402
from shopify_schema import AdminSchema, SchemaShopify  # noqa: E402
from shopprivacy_shopify import ShopifyAdapter, ShopifyOptions  # noqa: E402
from shopprivacy_shopify.marketing import LEVELS, SMS_CONSENT, SMS_STATES  # noqa: E402
from test_shopify_webhook_contracts import endpoint, headers, post, storage_topic  # noqa: E402

from shopprivacy import Keyset, Settings, ShopPrivacy  # noqa: E402
from shopprivacy.store import Store  # noqa: E402

PHONE = "+13125551212"
GID = "gid://shopify/Customer/706405506930370084"
T1 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
WORDING = "Texts about offers from Example Shop. Reply STOP to stop."


def test_sms_body_fields_and_states_are_shopifys(admin: AdminSchema) -> None:
    assert SMS_CONSENT in admin.webhook_topics()
    assert sorted(s.upper() for s in SMS_STATES) == sorted(admin.enum_values("CustomerSmsMarketingState"))
    assert sorted(v.upper() for v in LEVELS) == sorted(admin.enum_values("CustomerMarketingOptInLevel"))
    fields = set(admin.schema.type_map["CustomerSmsMarketingConsentState"].fields)  # type: ignore[attr-defined]
    # the webhook's snake_case keys are the schema's fields: state, opt_in_level, consent_updated_at, ..._from
    assert {"marketingState", "marketingOptInLevel", "consentUpdatedAt", "consentCollectedFrom"} <= fields


@pytest.fixture
def shopify(admin: AdminSchema, db_url: str) -> Iterator[tuple[ShopPrivacy, SchemaShopify]]:
    """The facade with the adapter pinned to ``admin``'s version, talking to a Shopify executing the schema."""
    fake = SchemaShopify(admin)
    time = FakeTime()
    adapter = ShopifyAdapter(ShopifyOptions.from_mapping({**OPTIONS, "api_version": admin.version}),
                             sleep=time.sleep, clock=time.clock)
    store = Store.from_url(db_url)
    store.upgrade()
    sp = ShopPrivacy(Settings(database_url=db_url, keyset=Keyset.generate().to_json(),
                              public_base_url="https://shop.example", platform="shopify", platform_options=OPTIONS),
                     store=store, adapter=adapter)
    sp.web_routes()  # registers the adapter's outbox handlers, as a mounted app does
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, f"https://{SHOP}/admin/api/{admin.version}/graphql.json", callback=fake)
        yield sp, fake
    sp.close()
    adapter.close()


def _run_due(sp: ShopPrivacy) -> None:
    report = sp.run_due()
    assert report.outbox.dead == 0, report.outbox.errors


def test_sms_consent_recorded_in_the_sdk_is_pushed_in_order(shopify: tuple[ShopPrivacy, SchemaShopify]) -> None:
    sp, fake = shopify
    fake.on("CustomerSmsMarketingConsentUpdate",
        {"customerSmsMarketingConsentUpdate": {"customer": {"id": GID}, "userErrors": []}})
    sp.sms.opt_in(PHONE, "marketing", wording=WORDING, source="signup-form", customer_ref=GID)
    sp.sms.opt_in("+13125550000", "marketing", wording=WORDING, source="signup-form")  # no customer: not pushed
    _run_due(sp)
    sp.sms.handle_keyword(PHONE, "STOP")
    sp.sms.handle_keyword(PHONE, "STOP")  # a repeat changes nothing and queues nothing
    _run_due(sp)
    sent = [(op, doc, v) for op, doc, v in fake.sent if op == "CustomerSmsMarketingConsentUpdate"]
    assert all(fake.schema.problems(doc) == [] for _, doc, _ in sent)  # executed against the schema too
    consents = [v["input"] for _, _, v in sent]
    assert [c["customerId"] for c in consents] == [GID, GID]
    assert [op for op, _, _ in fake.sent] == ["CustomerSmsMarketingConsentUpdate"] * 2
    assert [c["smsMarketingConsent"]["marketingState"] for c in consents] == ["SUBSCRIBED", "UNSUBSCRIBED"]
    assert consents[0]["smsMarketingConsent"]["marketingOptInLevel"] == "SINGLE_OPT_IN"
    assert all(PHONE not in json.dumps(v) for _, _, v in fake.sent)  # the customer id is enough


def test_a_newer_change_supersedes_one_still_waiting(shopify: tuple[ShopPrivacy, SchemaShopify]) -> None:
    sp, fake = shopify
    fake.on("CustomerSmsMarketingConsentUpdate",
        {"customerSmsMarketingConsentUpdate": {"customer": {"id": GID}, "userErrors": []}})
    sp.sms.opt_in(PHONE, "marketing", wording=WORDING, source="signup-form", customer_ref=GID)
    sp.sms.handle_keyword(PHONE, "STOP")
    _run_due(sp)
    assert [v["input"]["smsMarketingConsent"]["marketingState"] for op, _, v in fake.sent
            if op == "CustomerSmsMarketingConsentUpdate"] == ["UNSUBSCRIBED"]


def body(state: str, at: datetime) -> str:
    return json.dumps({"id": 706405506930370084, "phone": PHONE,
                       "sms_marketing_consent": {"state": state, "opt_in_level": "single_opt_in",
                                                 "consent_updated_at": at.isoformat(),
                                                 "consent_collected_from": "OTHER"}})


def test_signed_deliveries_are_applied_once_newest_wins_and_never_echoed(
        shopify: tuple[ShopPrivacy, SchemaShopify]) -> None:
    sp, fake = shopify
    cases = [  # the newer withdrawal first, the older subscription after it, then a repeat and a forgery
        {"body": body("unsubscribed", T1 + timedelta(hours=1)), "headers": headers(SMS_CONSENT, "w1", "s-new")},
        {"body": body("subscribed", T1), "headers": headers(SMS_CONSENT, "w2", "s-old")},
        {"body": body("unsubscribed", T1 + timedelta(hours=1)), "headers": headers(SMS_CONSENT, "w3", "s-new")},
        {"body": body("subscribed", T1 + timedelta(hours=2)), "headers": headers(SMS_CONSENT, "w4", "s-forged"),
         "signing_secret": "shpss_not-the-apps-secret"},
    ]
    results, route = run_node_signer(NPM, SECRET, cases), endpoint(sp)
    statuses = []
    for case, got in zip(cases, results, strict=True):
        forged = "signing_secret" in case
        assert got["result"]["valid"] is (not forged)
        if not forged:
            assert got["result"]["topic"] == storage_topic(SMS_CONSENT)
        statuses.append(post(route, case, got["signature"]))
    assert statuses == [200, 200, 200, 401]
    _run_due(sp)
    assert sp.sms.is_suppressed(PHONE, "marketing")
    assert [h["action"] for h in sp.sms.history(PHONE)] == ["platform_unsubscribed"]
    assert fake.sent == []  # Shopify's own change is not sent back to Shopify
