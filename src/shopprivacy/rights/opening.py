"""Opening requests: checked input, rate limits, merging into an open request of the same person, and the
verification links; and the portal's e-mail preference link, under the same limits."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from ..errors import InvalidInput, RateLimited
from ..limits import client_network, mailbox
from . import records
from .deadlines import REGIMES, due_dates
from .model import (
    FEEDBACK_KINDS,
    KINDS,
    OPEN_STATES,
    RightsRequest,
    parse_changes,
    parse_identity,
    parse_message,
    parse_orders,
)
from .tables import attempts, identifiers, requests

if TYPE_CHECKING:
    from ..email.service import Email
    from .kit import RightsKit
    from .notices import NoticeQueue
    from .registry import SourceRegistry

log = logging.getLogger("shopprivacy.rights")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,39}$")


class Opening:
    """Opens (or merges) requests; see :meth:`~.service.Rights.open`."""

    def __init__(self, kit: RightsKit, email: Email, registry: SourceRegistry, notices: NoticeQueue) -> None:
        self.kit, self.email, self.registry, self.notices = kit, email, registry, notices

    def open(self, kind: str, identity: Mapping[str, str], *, channel: str = "portal", regime: str | None = None,
             verified_by: str | None = None, changes: Mapping[str, str] | None = None, locale: str | None = None,
             external_id: str | None = None, ip: str | None = None, consent_id: str | None = None,
             orders: Sequence[str] | None = None, message: str | None = None) -> RightsRequest:
        """Open (or merge into an open one, or return the one with ``external_id``) a request."""
        kit = self.kit
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(sorted(KINDS))}")
        regime = regime or kit.settings.default_regime
        if regime not in REGIMES:
            raise InvalidInput("regime must be gdpr or ccpa")
        for what, value in (("channel", channel), ("verified_by", verified_by)):
            if value is not None and (not isinstance(value, str) or not _NAME.match(value)):
                raise InvalidInput(f"{what} must be 1-40 characters of a-z, 0-9, '_.:-'")
        if external_id is not None and (not isinstance(external_id, str) or not 0 < len(external_id) <= 200
                                        or not external_id.isprintable()):
            raise InvalidInput("external_id must be 1-200 printable characters")
        if consent_id is not None and (not isinstance(consent_id, str) or len(consent_id) > 40):
            consent_id = None
        dropped: list[str] = []
        ids = parse_identity(identity, dropped=dropped if verified_by else None)
        order_ids = parse_orders(orders) if orders else ()
        fixes = parse_changes(changes) if kind == "rectify" else None
        if kind != "rectify" and changes:
            raise InvalidInput("only a rectify request carries changes")
        if kind in FEEDBACK_KINDS:
            fixes = {"message": parse_message(message)}  # kept encrypted like a correction, for the operator
        elif message is not None:
            raise InvalidInput("only a question or complaint carries a message")
        now, lang = kit.clock(), kit.locale(locale)
        bidxs = {k: kit.bidx(k, v) for k, v in ids.items()}
        ip_hash = kit.keyring.keyed_hash(ip, namespace="ip") if ip else None
        # before the transaction: may set up the adapter
        platform = self.registry.platform_name() if verified_by else None
        with kit.store.begin() as conn:
            kit.store.lock(conn, "shopprivacy:rights:open")
            if external_id is not None:
                row = conn.execute(select(requests).where(requests.c.external_id == external_id)).first()
                if row is not None:
                    return records.to_request(row)
            if verified_by is None:
                self.rate_limit(conn, ids, ip, now)
            merged = self._merge(conn, kind, ids, bidxs, fixes, verified_by, order_ids, platform, now)
            if merged is not None:
                return merged
            return self._create(conn, kind, ids, bidxs, fixes, regime=regime, channel=channel, lang=lang,
                                verified_by=verified_by, external_id=external_id, ip_hash=ip_hash,
                                consent_id=consent_id, dropped=dropped, order_ids=order_ids, now=now)

    def _merge(self, conn: Connection, kind: str, ids: Mapping[str, str], bidxs: Mapping[str, str],
               fixes: Mapping[str, str] | None, verified_by: str | None, order_ids: tuple[str, ...],
               platform: str | None, now: datetime) -> RightsRequest | None:
        kit, fields = self.kit, self.kit.fields
        q = (select(requests).join(identifiers, identifiers.c.request_id == requests.c.id)
             .where(requests.c.kind == kind, requests.c.state.in_(sorted(OPEN_STATES)),
                    identifiers.c.bidx.in_(list(bidxs.values())), identifiers.c.kind.in_(list(bidxs)))
             .order_by(requests.c.received_at).limit(5))
        for row in conn.execute(q).all():
            if fixes is not None:
                current = fields.decrypt(row.changes, context=records.CHANGES_CONTEXT, row=row.id)
                if current != dict(fixes):
                    continue
            have = {i.kind: i for i in records.identifier_rows(conn, row.id)}
            for k, v in ids.items():
                if k not in have:
                    records.add_identifier(fields, conn, row.id, k, v, bidx=bidxs[k], origin="request",
                                           verified_at=now if verified_by else None, now=now)
            if order_ids:
                merged_orders = tuple(dict.fromkeys((*records.orders_of(fields, row), *order_ids)))
                records.set_state(conn, row.id, now, orders=records.orders_token(fields, row.id, merged_orders))
            reset = 0
            if verified_by is not None:
                newly = [k for k in ids if k not in have or have[k].verified_at is None]
                conn.execute(update(identifiers).where(identifiers.c.request_id == row.id,
                                                       identifiers.c.kind.in_(list(ids)),
                                                       identifiers.c.verified_at.is_(None)).values(verified_at=now))
                forwarded = row.forwarded_by
                if forwarded is None or verified_by == platform:
                    forwarded = verified_by
                if row.verified_at is None:
                    records.set_state(conn, row.id, now, verified_at=now, verified_by=verified_by,
                                      forwarded_by=forwarded,
                                      state="verified" if row.state == "received" else row.state)
                else:
                    records.set_state(conn, row.id, now, forwarded_by=forwarded)
                if newly or order_ids:
                    reset = records.restart_steps(conn, row.id, now)
            else:
                records.set_state(conn, row.id, now,
                                  verify_expires_at=now + timedelta(hours=kit.settings.verify_max_age_hours))
                for k in ids:
                    if have.get(k) is None or have[k].verified_at is None:
                        self.notices.notify(conn, row.id, "verify", k, suffix=now.isoformat())
            kit.audit_request(conn, row, "rights.merged", fields=tuple(sorted(ids)), verified_by=verified_by,
                              restarted=reset or None)
            return records.to_request(records.load(conn, row.id))
        return None

    def _create(self, conn: Connection, kind: str, ids: Mapping[str, str], bidxs: Mapping[str, str],
                fixes: Mapping[str, str] | None, *, regime: str, channel: str, lang: str, verified_by: str | None,
                external_id: str | None, ip_hash: str | None, consent_id: str | None, dropped: list[str],
                order_ids: tuple[str, ...], now: datetime) -> RightsRequest:
        kit, fields = self.kit, self.kit.fields
        rid = "rr_" + secrets.token_hex(12)
        if "email" in ids:
            subject = self.email.subjects.subject_of(ids["email"])
        else:
            first = next(iter(ids))
            subject = kit.keyring.pseudonym(f"{first}:{ids[first]}", namespace="rights")
        dl = due_dates(regime, now, kit.settings.holidays)
        verified_at = now if verified_by else None
        conn.execute(requests.insert().values(
            id=rid, kind=kind, state="verified" if verified_by else "received", regime=regime, channel=channel,
            locale=lang, external_id=external_id, subject=subject, verified_by=verified_by, forwarded_by=verified_by,
            verified_at=verified_at, orders=records.orders_token(fields, rid, order_ids),
            verify_expires_at=now + timedelta(hours=kit.settings.verify_max_age_hours), received_at=now,
            acknowledge_by=dl.acknowledge_by, due_at=dl.due_at, ip_hash=ip_hash, attempts=0, updated_at=now,
            changes=fields.encrypt(dict(fixes), context=records.CHANGES_CONTEXT, row=rid) if fixes else None,
            consent_ref=fields.encrypt(consent_id, context=records.CONSENT_CONTEXT, row=rid)
            if consent_id else None))
        for k, v in ids.items():
            records.add_identifier(fields, conn, rid, k, v, bidx=bidxs[k], origin=verified_by or "request",
                                   verified_at=verified_at, now=now)
        row = records.load(conn, rid)
        kit.audit_request(conn, row, "rights.opened", actor=verified_by or channel, fields=tuple(sorted(ids)),
                          regime=regime, channel=channel, unusable=",".join(dropped) or None)
        if verified_by:
            kit.audit_request(conn, row, "rights.verified", actor=verified_by, fields=tuple(sorted(ids)))
            if regime == "ccpa":
                self.notices.notify_requester(conn, row, "acknowledged")
        else:
            for k in ids:
                self.notices.notify(conn, rid, "verify", k)
        log.info("rights request %s (%s, %s) opened via %s", rid, kind, regime, channel)
        return records.to_request(row)

    def rate_limit(self, conn: Connection, ids: Mapping[str, str], ip: str | None, now: datetime) -> None:
        """Count this attempt against each identifier and the client's IP; RateLimited past a limit.

        The keys are keyed hashes of the limit forms of :mod:`shopprivacy.limits`: the ``+tag`` and Gmail dot
        variants of an address share its limit, and so do the addresses of one IPv6 /64."""
        kit, settings = self.kit, self.kit.settings
        since = now - timedelta(hours=settings.rate_window_hours)
        keys = [(kit.bidx(k, mailbox(v) if k == "email" else v), settings.rate_limit_identity)
                for k, v in ids.items()]
        if ip:
            keys.append((kit.keyring.keyed_hash(client_network(ip), namespace="ip"), settings.rate_limit_ip))
        for key, limit in keys:
            n = conn.execute(select(func.count()).select_from(attempts).where(
                attempts.c.key == key, attempts.c.at > since)).scalar_one()
            if n >= limit:
                raise RateLimited("too many requests for this identity or from this address; try again later")
        conn.execute(attempts.insert(), [{"key": key, "at": now} for key, _ in keys])

    def preferences_notice(self, address: str, *, ip: str | None = None) -> None:
        """Mail the e-mail preference link to ``address`` when it is on a list (neutral either way)."""
        email = parse_identity({"email": address})["email"]
        now, bidx = self.kit.clock(), self.kit.bidx("email", email)
        with self.kit.store.begin() as conn:
            self.rate_limit(conn, {"email": email}, ip, now)
            self.notices.notify(conn, None, "preferences", "address", address=email,
                                suffix=f"{bidx}:{now.isoformat()}")
