"""Splitting a renewal run between workers: shards, and skipping what other workers settled or hold.

``Shard(index, count)`` gives each of ``count`` workers a share of the subscriptions (by a stable hash of the
id), so concurrent runs do not race for the same claims. A sharded run bills its own share first, then
walks the other shares and takes over what nobody claimed (a worker that died or never started), so a
subscription is never left behind by a missing worker. Before claiming, a page of records is checked against
``sp_renewal_attempts`` in one query: settled renewals and renewals other workers hold are passed over
without a claim transaction each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy import select

from ..store import Store
from ..store.jobs import holder_is_dead
from ..workers import Shard
from .tables import renewal_attempts

T = TypeVar("T")
_FINAL = ("billed", "failed")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter)."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def known_states(store: Store, keys: Sequence[tuple[str, str]], *, owner: str,
                 now: datetime) -> dict[tuple[str, str], str]:
    """Of the (subscription, period) ``keys``, those to pass over: ``"already_done"`` (settled) or ``"busy"``
    (claimed by another live worker). Others, unclaimed or free to take over, are left out."""
    if not keys:
        return {}
    t, wanted = renewal_attempts, set(keys)
    with store.begin(write=False) as conn:
        rows = conn.execute(select(t.c.subscription_id, t.c.period, t.c.status, t.c.owner, t.c.claimed_until)
                            .where(t.c.subscription_id.in_(sorted({k[0] for k in keys})))).all()
    out: dict[tuple[str, str], str] = {}
    for row in rows:
        key = (row.subscription_id, row.period)
        if key not in wanted:
            continue
        if row.status in _FINAL:
            out[key] = "already_done"
        elif (row.claimed_until is not None and row.claimed_until > now and row.owner != owner
              and not holder_is_dead(row.owner)):
            out[key] = "busy"
    return out


__all__ = ["Shard", "chunks", "known_states"]  # Shard re-exported: the renewals' name for it
