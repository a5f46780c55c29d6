"""A billing call whose outcome is unknown is asked again with the same key, and never marked failed."""

import json

import pytest
from sqlalchemy import select

from shopprivacy.errors import OutcomeUnknown, PlatformError
from shopprivacy.platforms.local import LocalShop
from shopprivacy.renewals import Renewals
from shopprivacy.renewals.billing import UnknownOutcomeRetry, unknown_outcome
from shopprivacy.renewals.tables import renewal_attempts

from .conftest import UNTIL, add_subs


def renewals_of(sp, **options):
    """The renewals capability wired from the facade's collaborators, as ``sp.renewals`` is."""
    return Renewals(store=sp.store, audit=sp.audit, keyring=sp.keyring, retention=sp.retention,
                    adapter=lambda: sp.adapter, clock=sp.clock, **options)


def attempts(sp):
    with sp.store.begin(write=False) as conn:
        return {r.subscription_id: r for r in conn.execute(select(renewal_attempts))}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def renewals(sp, sleeps):
    return renewals_of(sp, sleep=sleeps.append)


class ResetAfterBilling(LocalShop):
    """A local shop whose answer to the first billing call of each key is lost after it billed."""

    lost: set[str]

    def create_billing_attempt(self, subscription_id, *, idempotency_key, origin_time):
        result = super().create_billing_attempt(subscription_id, idempotency_key=idempotency_key,
                                                origin_time=origin_time)
        if idempotency_key not in self.lost:
            self.lost.add(idempotency_key)
            raise OutcomeUnknown("connection reset by peer")
        return result


def test_connection_reset_after_the_shop_charged_is_asked_again_with_the_same_key(renewals, sp, shop, sleeps):
    ids = add_subs(shop, 3)
    keys = []

    def charge(record, *, idempotency_key):
        keys.append(idempotency_key)
        result = shop.create_billing_attempt(record.subscription_id, idempotency_key=idempotency_key,
                                             origin_time=record.next_billing_at)
        if len(keys) % 2:  # the first call for each renewal billed, then the connection broke
            raise ConnectionResetError(104, "Connection reset by peer")
        return result

    report = renewals.run(shop, charge=charge, until=UNTIL)
    assert (report.billed, report.in_doubt, report.errors, report.failed) == (3, 0, 0, 0)
    assert keys[0::2] == keys[1::2] and len(set(keys)) == 3  # each renewal twice, with its own key
    assert shop.billing_count() == 3 and all(len(shop.orders_of(sid)) == 1 for sid in ids)
    assert sleeps == [1.0, 1.0, 1.0]
    assert {r.status for r in attempts(sp).values()} == {"billed"}


def test_lost_answer_from_the_adapter_is_settled_by_the_same_key(sp, db_url, sleeps):
    shop = ResetAfterBilling.from_url(db_url)
    shop.lost = set()
    try:
        ids = add_subs(shop, 2)
        report = renewals_of(sp, sleep=sleeps.append).run(shop, until=UNTIL)
        assert (report.billed, report.in_doubt, report.failed, report.cleaned_orders) == (2, 0, 0, 2)
        assert shop.billing_count() == 2 and all(len(shop.orders_of(sid)) == 1 for sid in ids)
        assert len(shop.lost) == 2 and {r.idempotency_key for r in attempts(sp).values()} == shop.lost
    finally:
        shop.close()


def test_always_malformed_answer_leaves_the_renewal_open_never_failed(renewals, sp, shop, sleeps):
    first, second = add_subs(shop, 2)
    calls = []

    def garbled(record, *, idempotency_key):
        calls.append((record.subscription_id, idempotency_key))
        return json.loads("<html><body>502 Bad Gateway</body></html>")  # what the shop's client reads

    report = renewals.run(shop, charge=garbled, until=UNTIL)
    assert (report.in_doubt, report.failed, report.billed, report.errors) == (2, 0, 0, 0)
    # three calls with backoff for the first; then the platform is taken to be down: one call for the next
    assert [sid for sid, _ in calls] == [first, first, first, second] and sleeps == [1.0, 2.0]
    assert len({key for sid, key in calls if sid == first}) == 1
    rows = attempts(sp)
    assert {r.status for r in rows.values()} == {"claimed"}
    assert {r.error_code for r in rows.values()} == {"unknown:JSONDecodeError"}
    assert sp.audit.entries(action="renewal.run")[-1].meta["in_doubt"] == 2

    def good(record, *, idempotency_key):
        calls.append((record.subscription_id, idempotency_key))
        return shop.create_billing_attempt(record.subscription_id, idempotency_key=idempotency_key,
                                           origin_time=record.next_billing_at)

    again = renewals.run(shop, charge=good, until=UNTIL)  # the next run bills them, with the stored keys
    assert (again.billed, again.in_doubt) == (2, 0) and shop.billing_count() == 2
    assert calls[-2:] == [calls[0], calls[3]]
    assert {r.status for r in attempts(sp).values()} == {"billed"}


def test_definite_refusals_are_final_and_not_repeated(renewals, sp, shop, sleeps):
    add_subs(shop, 1)
    calls = []

    def refused(record, *, idempotency_key):
        calls.append(idempotency_key)
        raise PlatformError("card declined", retryable=False)

    report = renewals.run(shop, charge=refused, until=UNTIL)
    assert (report.failed, report.errors, report.in_doubt) == (0, 1, 0) and len(calls) == 1 and sleeps == []
    assert [r.status for r in attempts(sp).values()] == ["failed"]


def test_a_bug_in_the_shops_charge_is_not_taken_for_a_lost_answer(renewals, sp, shop):
    add_subs(shop, 1)

    def buggy(record, *, idempotency_key):
        raise KeyError("gateway_id")

    with pytest.raises(KeyError):
        renewals.run(shop, charge=buggy, until=UNTIL)
    assert [r.status for r in attempts(sp).values()] == ["claimed"]


def test_retry_waits_at_least_what_the_platform_asks_and_at_most_max_wait():
    waits = []
    retry = UnknownOutcomeRetry(tries=4, backoff=1.0, max_wait=5.0, sleep=waits.append)
    answers = iter([OutcomeUnknown("cut off", retry_after=3.0), TimeoutError(), OutcomeUnknown("x")])

    def bill():
        exc = next(answers, None)
        if exc is None:
            return "billed"
        raise exc

    assert retry.call(bill, who="p_x") == "billed" and waits == [3.0, 2.0, 4.0]
    assert not retry.platform_in_doubt


def test_only_transport_and_parse_errors_count_as_unknown():
    assert unknown_outcome(ConnectionResetError()) is not None
    assert unknown_outcome(TimeoutError()) is not None
    assert isinstance(unknown_outcome(json.JSONDecodeError("x", "<html>", 0)), OutcomeUnknown)
    assert unknown_outcome(PlatformError("declined", retryable=False)) is None
    assert unknown_outcome(PlatformError("rate limited", retryable=True)) is None
    assert unknown_outcome(KeyError("x")) is None
