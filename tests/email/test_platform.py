"""Consent changes made on the platform: applied with the platform's time as proof, never mirrored back, and
never overriding a newer state (late or out-of-order deliveries, the platform's echo of the SDK's own push)."""

from datetime import datetime, timedelta, timezone
from itertools import count

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from shopprivacy.email import PlatformConsentUpdate
from shopprivacy.errors import ShopPrivacyError, SuppressedRecipient
from shopprivacy.store.schema import outbox

from .conftest import token_of

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
ADDRESS = "jane@example.com"


def change(subscribed: bool, at: datetime | None, **kw) -> PlatformConsentUpdate:
    return PlatformConsentUpdate(platform="shopify", address=kw.pop("address", ADDRESS), subscribed=subscribed,
                                 updated_at=at, **kw)


def pushes(sp) -> int:
    with sp.store.begin(write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)
                                .where(outbox.c.topic == "email.marketing_consent")).scalar_one())


def test_a_platform_withdrawal_suppresses_every_marketing_list_with_proof_and_no_push(esp):
    esp.email.platform.apply(change(True, T0, opt_in_level="confirmed_opt_in", customer_ref="gid://shopify/Customer/1"))
    assert esp.email.state(ADDRESS, "newsletter") == "subscribed"
    done = esp.email.platform.apply(change(False, T0 + timedelta(hours=1), collected_from="SHOPIFY"))
    assert done.changed and done.list_id == "*"
    assert esp.email.is_suppressed(ADDRESS, "newsletter") and esp.email.is_suppressed(ADDRESS, "offers")
    with pytest.raises(SuppressedRecipient):
        esp.email.guard(ADDRESS, "offers")
    esp.email.guard(ADDRESS, "receipts")  # transactional mail is never blocked
    history = esp.email.subjects.history(ADDRESS)
    assert [(h["action"], h["at"], h["source"]) for h in history][-1] == (
        "platform_unsubscribed", (T0 + timedelta(hours=1)).isoformat(), "shopify:withdrawn:SHOPIFY")
    assert {h["action"] for h in history} == {"platform_opt_in", "platform_unsubscribed"}
    assert pushes(esp) == 0  # nothing goes back to the platform
    assert [e.action for e in esp.audit.entries()][-1] == "email.platform_unsubscribed"


def test_an_older_delivery_never_overrides_a_newer_choice(esp):
    esp.email.platform.apply(change(False, T0 + timedelta(hours=2)))
    late = esp.email.platform.apply(change(True, T0 + timedelta(hours=1), opt_in_level="single_opt_in"))
    assert not late.changed and esp.email.state(ADDRESS, "newsletter") == "unsubscribed"
    newer = esp.email.platform.apply(change(True, T0 + timedelta(hours=3), opt_in_level="single_opt_in"))
    assert newer.changed and esp.email.state(ADDRESS, "newsletter") == "subscribed"
    assert not esp.email.is_suppressed(ADDRESS, "offers")


def test_a_confirmation_of_the_same_state_moves_its_time_so_an_older_withdrawal_stays_out(esp):
    esp.email.platform.apply(change(True, T0, opt_in_level="single_opt_in"))
    assert not esp.email.platform.apply(change(True, T0 + timedelta(hours=3))).changed
    stale = esp.email.platform.apply(change(False, T0 + timedelta(hours=2)))
    assert not stale.changed and esp.email.state(ADDRESS, "newsletter") == "subscribed"


def test_a_newer_sdk_unsubscribe_wins_over_a_late_platform_subscription(esp, clock):
    esp.email.platform.apply(change(True, clock() - timedelta(days=1)))
    esp.email.unsubscribe_address(ADDRESS)  # the subscriber's own click, now
    assert pushes(esp) >= 1
    before = pushes(esp)
    late = esp.email.platform.apply(change(True, clock() - timedelta(minutes=5)))
    assert not late.changed and esp.email.is_suppressed(ADDRESS, "newsletter") and pushes(esp) == before


def test_the_platforms_echo_of_an_sdk_push_changes_nothing(esp, clock):
    url = esp.email.request_opt_in(ADDRESS, "newsletter", source="form", consent_text_version="v1")
    esp.email.confirm_opt_in(token_of(url))
    esp.email.unsubscribe_address(ADDRESS, "newsletter")
    pushed = pushes(esp)
    # Shopify echoes the pushed time, cut to whole seconds
    echo = esp.email.platform.apply(change(False, clock().replace(microsecond=0)))
    assert not echo.changed and pushes(esp) == pushed
    assert [h["action"] for h in esp.email.subjects.history(ADDRESS)].count("platform_unsubscribed") == 0


def test_repeating_a_change_is_a_no_op(esp):
    assert esp.email.platform.apply(change(False, T0)).changed
    assert not esp.email.platform.apply(change(False, T0)).changed
    assert [h["action"] for h in esp.email.subjects.history(ADDRESS)] == ["platform_unsubscribed"]


def test_a_withdrawal_for_an_unknown_address_suppresses_without_storing_it(esp):
    esp.email.platform.apply(change(False, T0))
    assert esp.email.is_suppressed(ADDRESS, "newsletter")
    assert esp.email.subjects.on_file(ADDRESS) is None


def test_a_withdrawal_without_a_time_applies_a_subscription_without_one_does_not(esp, clock):
    assert not esp.email.platform.apply(change(True, None)).changed
    assert esp.email.state(ADDRESS, "newsletter") == "not_subscribed"
    assert esp.email.platform.apply(change(False, None)).changed
    assert esp.email.subjects.history(ADDRESS)[-1]["at"] == clock().isoformat()


def test_one_list(esp):
    esp.email.platform.apply(change(True, T0, list_id="offers", opt_in_level="confirmed_opt_in"))
    assert esp.email.state(ADDRESS, "offers") == "subscribed"
    assert esp.email.state(ADDRESS, "newsletter") == "not_subscribed"
    esp.email.platform.apply(change(False, T0 + timedelta(hours=1), list_id="offers"))
    assert esp.email.is_suppressed(ADDRESS, "offers") and not esp.email.is_suppressed(ADDRESS, "newsletter")


@pytest.mark.parametrize("bad", [
    {"list_id": "receipts"}, {"list_id": "nope"}, {"address": "not-an-address"},
    {"at": datetime(2026, 1, 1)},
])
def test_bad_changes_are_refused_before_any_write(esp, bad):
    at = bad.pop("at", T0)
    with pytest.raises(ShopPrivacyError):
        esp.email.platform.apply(change(False, at, **bad))
    assert not esp.email.is_suppressed(ADDRESS, None) and esp.audit.entries() == []


_EXAMPLES = count()


@given(times=st.lists(st.tuples(st.booleans(), st.integers(0, 10_000)), min_size=1, max_size=8))
def test_any_delivery_order_ends_in_the_newest_state(esp, times):
    address = f"h{next(_EXAMPLES)}@example.com"  # the fixture is shared by the examples: a fresh address each
    for subscribed, minutes in times:
        esp.email.platform.apply(change(subscribed, T0 + timedelta(minutes=minutes), address=address,
                                        opt_in_level="single_opt_in"))
    newest = max(m for _, m in times)
    final = [s for s, m in times if m == newest][0]  # the first seen of equal times wins
    assert esp.email.is_suppressed(address, "newsletter") is (not final)


def test_a_repeated_withdrawal_moves_the_suppressions_time(esp):
    esp.email.platform.apply(change(False, T0))
    esp.email.platform.apply(change(False, T0 + timedelta(hours=2)))  # no new row, but a later time
    assert not esp.email.platform.apply(change(True, T0 + timedelta(hours=1))).changed
    assert esp.email.is_suppressed(ADDRESS, "newsletter")
