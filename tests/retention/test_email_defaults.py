"""The e-mail capability's default retention rules on real opt-ins (SQLite and PostgreSQL)."""

import pytest
from sqlalchemy import select

from shopprivacy import ShopPrivacy
from shopprivacy.email.settings import EmailSettings, MailingList
from shopprivacy.email.tables import consent_events, pending_opt_ins

pytestmark = pytest.mark.db


def test_confirmed_requests_go_after_30_days_and_proof_loses_its_hashes_after_3_years(settings, store, clock):
    s = settings.model_copy(update={"email": EmailSettings(lists={"news": MailingList(names={"en": "News"})})})
    app = ShopPrivacy(s, store=store, clock=clock)
    link = app.email.request_opt_in("jane@example.com", "news", source="footer", consent_text_version="v3",
                                    ip="203.0.113.9", user_agent="Mozilla/5.0")
    app.email.confirm_opt_in(link.split("?t=", 1)[1], ip="203.0.113.9", user_agent="Mozilla/5.0")
    names = {"sdk.email.confirmed_opt_in_requests", "sdk.email.proof_network_hashes"}

    clock.advance(days=29)
    assert {p.rule: p.due for p in app.retention.plan() if p.rule in names} == dict.fromkeys(names, 0)
    clock.advance(days=2)
    got = {r.rule: r.processed for r in app.retention.sweep() if r.rule in names}
    assert got.get("sdk.email.confirmed_opt_in_requests") == 1
    with store.begin(write=False) as conn:
        assert conn.execute(select(pending_opt_ins)).all() == []
        events = conn.execute(select(consent_events)).all()
    assert events and all(e.ip_hash for e in events if e.action == "confirmed")

    clock.advance(days=3 * 365)
    got = {r.rule: r.processed for r in app.retention.sweep() if r.rule in names}
    assert got.get("sdk.email.proof_network_hashes") == len(events)
    with store.begin(write=False) as conn:
        kept = conn.execute(select(consent_events)).all()
    assert len(kept) == len(events)  # the proof stays: time, list, action, text version, source
    assert all(e.ip_hash is None and e.ua_hash is None and e.text_version == "v3" for e in kept)
    assert app.email.is_suppressed("jane@example.com", "news") is False
    app.audit.verify()
    app.close()
