import pytest
from sqlalchemy import func, select

from shopprivacy.email.tables import pending_opt_ins
from shopprivacy.errors import ExpiredToken, InvalidInput, NotFoundError, RateLimited
from shopprivacy.web import Request

from .conftest import post, token_of


def test_double_opt_in_with_proof(esp):
    shop = esp.adapter
    cid = shop.add_customer("jane@example.com")
    url = esp.email.request_opt_in("Jane@Example.com", "newsletter", source="checkout-form",
                                   consent_text_version="newsletter-2026-11", ip="203.0.113.7",
                                   user_agent="Mozilla/5.0")
    assert url.startswith("https://shop.example/privacy/email/confirm?t=")
    token = token_of(url)
    pages = esp.email_web
    get = pages.confirm(Request("GET", "/privacy/email/confirm", query={"t": token}))
    assert get.status == 200 and b"method=\"post\"" in get.body  # a prefetch does not confirm
    _, states = esp.email.preferences.read(token_of(esp.email.preferences_url("jane@example.com")))
    assert states["newsletter"] == "not_subscribed"
    assert esp.email.state("jane@example.com", "newsletter") == "pending"
    assert esp.email.state("jane@example.com", "offers") == "not_subscribed"
    done = pages.confirm(post("/privacy/email/confirm", token, b"", remote_addr="198.51.100.2",
                              headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "UA"}))
    assert done.status == 200
    _, states = esp.email.preferences.read(token_of(esp.email.preferences_url("jane@example.com")))
    assert states["newsletter"] == "subscribed"
    assert esp.email.state("JANE@example.com ", "newsletter") == "subscribed"
    history = esp.email.subjects.history("jane@example.com")
    assert [h["action"] for h in history] == ["opt_in_requested", "opt_in_confirmed"]
    assert history[1]["text_version"] == "newsletter-2026-11" and history[1]["source"] == "checkout-form"
    assert history[1]["ip_hash"].startswith(esp.keyring.primary_id + ".")
    assert "198.51.100.2" not in str(history)
    assert esp.keyring.keyed_hash("198.51.100.2", namespace="ip") == history[1]["ip_hash"]
    entry = esp.audit.entries(action="email.opt_in_confirmed")[0]
    assert entry.meta == {"list": "newsletter", "text_version": "newsletter-2026-11"}
    assert esp.email.confirm_opt_in(token).changed is False  # a second click changes nothing
    esp.run_due()
    customer = shop.customer(cid)
    assert (customer["marketing_state"], customer["marketing_opt_in_level"]) == ("subscribed", "confirmed_opt_in")
    esp.email.unsubscribe_address("jane@example.com", "newsletter")
    assert esp.email.state("jane@example.com", "newsletter") == "unsubscribed"
    with pytest.raises(NotFoundError):
        esp.email.state("jane@example.com", "no-such-list")


def test_resend_is_rate_limited_and_window_resets(esp, clock):
    for _ in range(3):
        esp.email.request_opt_in("a@example.com", "newsletter", source="form", consent_text_version="v1")
    with pytest.raises(RateLimited):
        esp.email.request_opt_in("a@example.com", "newsletter", source="form", consent_text_version="v1")
    clock.advance(hours=25)
    esp.email.request_opt_in("a@example.com", "newsletter", source="form", consent_text_version="v1")


def test_unconfirmed_requests_expire_and_are_purged(esp, clock):
    token = token_of(esp.email.request_opt_in("b@example.com", "offers", source="form", consent_text_version="v1"))
    clock.advance(hours=49)
    with pytest.raises(ExpiredToken):
        esp.email.confirm_opt_in(token)
    report = esp.run_due()
    assert report.tasks["email"] == {"expired_opt_ins": 1}
    with esp.store.begin(write=False) as conn:
        assert conn.execute(select(func.count()).select_from(pending_opt_ins)).scalar_one() == 0
    assert [h["action"] for h in esp.email.subjects.history("b@example.com")] == ["opt_in_requested"]
    resp = esp.email_web.confirm(post("/privacy/email/confirm", token, b""))
    assert resp.status == 400


def test_bad_requests(esp):
    with pytest.raises(NotFoundError):
        esp.email.request_opt_in("a@example.com", "nope", source="form", consent_text_version="v1")
    with pytest.raises(InvalidInput):
        esp.email.request_opt_in("a@example.com", "newsletter", source="form", consent_text_version="")
    with pytest.raises(InvalidInput):
        esp.email.request_opt_in("not-an-address", "newsletter", source="form", consent_text_version="v1")


def test_confirmed_opt_in_lifts_that_lists_suppression_only(esp):
    esp.email.unsubscribe_address("c@example.com")  # everything
    token = token_of(esp.email.request_opt_in("c@example.com", "offers", source="form", consent_text_version="v2"))
    esp.email.confirm_opt_in(token)
    assert not esp.email.is_suppressed("c@example.com", "offers")
    assert esp.email.is_suppressed("c@example.com", "newsletter")


def test_preference_centre(esp):
    for lid in ("newsletter", "offers"):
        esp.email.confirm_opt_in(token_of(esp.email.request_opt_in("d@example.com", lid, source="f",
                                                                   consent_text_version="v1")))
    ptoken = token_of(esp.email.preferences_url("d@example.com"))
    pages = esp.email_web
    view = pages.preferences(Request("GET", "/privacy/email/preferences", query={"t": ptoken}))
    assert view.status == 200 and b'name="list_newsletter" checked' in view.body
    # keep the newsletter, leave offers
    resp = pages.preferences(post("/privacy/email/preferences", ptoken, b"list_newsletter=on"))
    assert resp.status == 200 and b'role="status"' in resp.body
    assert esp.email.is_suppressed("d@example.com", "offers")
    assert not esp.email.is_suppressed("d@example.com", "newsletter")
    # pause the newsletter for 30 days
    pages.preferences(post("/privacy/email/preferences", ptoken, b"list_newsletter=on&pause_days=30"))
    assert esp.email.is_paused("d@example.com", "newsletter")
    # come back to offers: allowed, there is a confirmed opt-in for it
    pages.preferences(post("/privacy/email/preferences", ptoken, b"list_newsletter=on&list_offers=on"))
    assert not esp.email.is_suppressed("d@example.com", "offers")
    # leave everything
    pages.preferences(post("/privacy/email/preferences", ptoken, b"all=off"))
    assert esp.email.is_suppressed("d@example.com", "newsletter") and esp.email.is_suppressed("d@example.com", "offers")
    actions = [h["action"] for h in esp.email.subjects.history("d@example.com")]
    assert actions.count("unsubscribed") == 3 and "paused" in actions and "resubscribed" in actions


def test_preferences_cannot_create_consent(esp):
    esp.email.unsubscribe_address("e@example.com", "offers")
    ptoken = token_of(esp.email.preferences_url("e@example.com"))
    resp = esp.email_web.preferences(post("/privacy/email/preferences", ptoken, b"list_offers=on"))
    assert resp.status == 400
    assert esp.email.is_suppressed("e@example.com", "offers")
    bad = esp.email_web.preferences(Request("GET", "/privacy/email/preferences", query={"t": "x"}))
    assert bad.status == 400


def test_rejoining_relies_on_the_proof_not_on_the_purged_request(esp):
    esp.email.confirm_opt_in(token_of(esp.email.request_opt_in("f@example.com", "offers", source="f",
                                                               consent_text_version="v1")))
    esp.email.unsubscribe_address("f@example.com", "offers")
    with esp.store.begin() as conn:  # retention deletes confirmed requests after 30 days
        conn.execute(pending_opt_ins.delete())
    ptoken = token_of(esp.email.preferences_url("f@example.com"))
    resp = esp.email_web.preferences(post("/privacy/email/preferences", ptoken, b"list_offers=on"))
    assert resp.status == 200
    assert not esp.email.is_suppressed("f@example.com", "offers")
