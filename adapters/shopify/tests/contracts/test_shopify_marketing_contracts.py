"""The marketing-consent webhooks against Shopify's own published material: the topics and the enum values the
body model accepts, from the Admin API schema of every supported version; deliveries signed and validated by
``@shopify/shopify-api`` (node), applied by one ``run-due``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from shopify_npm import npm_root, run_node_signer

NPM = npm_root()  # skips this module when Shopify's npm files are not there (outside `tox -e contracts`)

from shopify_fakes import SECRET  # noqa: E402
from shopify_schema import AdminSchema  # noqa: E402
from shopprivacy_shopify.marketing import EMAIL_CONSENT, EMAIL_STATES, LEVELS, SMS_CONSENT  # noqa: E402
from test_shopify_webhook_contracts import endpoint, headers, post, storage_topic  # noqa: E402

from shopprivacy import ShopPrivacy  # noqa: E402
from shopprivacy.email.platform import Level  # noqa: E402

T1 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
ADDRESS = "bob@example.com"


def test_topics_states_and_levels_are_shopifys(admin: AdminSchema) -> None:
    assert {EMAIL_CONSENT, SMS_CONSENT} <= set(admin.webhook_topics())
    assert sorted(s.upper() for s in EMAIL_STATES) == sorted(admin.enum_values("CustomerEmailMarketingState"))
    assert sorted(v.upper() for v in LEVELS) == sorted(admin.enum_values("CustomerMarketingOptInLevel"))
    assert set(LEVELS) == set(Level.__args__)  # the levels the SDK records are Shopify's
    assert sorted(admin.enum_values("CustomerConsentCollectedFrom")) == ["OTHER", "SHOPIFY"]


def body(state: str, at: datetime) -> str:
    return json.dumps({"customer_id": 706405506930370084, "email_address": ADDRESS,
                       "email_marketing_consent": {"state": state, "opt_in_level": "single_opt_in",
                                                   "consent_updated_at": at.isoformat(),
                                                   "consent_collected_from": "SHOPIFY"}})


def test_deliveries_signed_by_shopifys_library_are_applied_in_one_run_due(sp: ShopPrivacy) -> None:
    cases = [  # the newer withdrawal arrives first, the older subscription after it, then a repeat and a forgery
        {"body": body("unsubscribed", T1 + timedelta(hours=1)), "headers": headers(EMAIL_CONSENT, "w1", "e-new")},
        {"body": body("subscribed", T1), "headers": headers(EMAIL_CONSENT, "w2", "e-old")},
        {"body": body("unsubscribed", T1 + timedelta(hours=1)), "headers": headers(EMAIL_CONSENT, "w3", "e-new")},
        {"body": body("subscribed", T1 + timedelta(hours=2)), "headers": headers(EMAIL_CONSENT, "w4", "e-forged"),
         "signing_secret": "shpss_not-the-apps-secret"},
    ]
    results, route = run_node_signer(NPM, SECRET, cases), endpoint(sp)
    statuses = []
    for case, got in zip(cases, results, strict=True):
        forged = "signing_secret" in case
        assert got["result"]["valid"] is (not forged)
        if not forged:
            assert got["result"]["topic"] == storage_topic(EMAIL_CONSENT)
        statuses.append(post(route, case, got["signature"]))
    assert statuses == [200, 200, 200, 401]
    report = sp.run_due()
    assert report.outbox.dead == 0, report.outbox.errors
    assert sp.email.is_suppressed(ADDRESS, "newsletter")
    assert [h["action"] for h in sp.email.subjects.history(ADDRESS)] == ["platform_unsubscribed"]
