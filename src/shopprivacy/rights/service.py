"""``sp.rights``: open, verify, process, extend and reject rights requests; deadlines; notices; receipts."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from ..errors import BadToken, ConflictError, ExpiredToken, InvalidInput
from ..tokens import TokenSigner
from ..web.i18n import available_locales, negotiate
from . import processing, records
from .archive import LOCALES
from .builtin import PLATFORM_TOPIC, SdkSource
from .deadlines import REGIMES, due_dates
from .downloads import DownloadsMixin
from .identifier_change import IdentifierChanges
from .model import (
    IDENTIFIERS,
    KINDS,
    OPEN_STATES,
    Receipt,
    RightsRequest,
    SourceReceipt,
    Subject,
    parse_changes,
    parse_identity,
    parse_orders,
)
from .notices import NOTICE_CONTEXT, NOTICE_TOPIC, Sender
from .settings import RightsSettings
from .sources import DataSource
from .tables import exports, identifiers, requests

if TYPE_CHECKING:
    from ..app import ShopPrivacy

log = logging.getLogger("shopprivacy.rights")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,39}$")


class Rights(DownloadsMixin):
    """Rights requests for one shop. Register the shop's sources with :meth:`register_source` and a
    :meth:`set_sender` that mails (or texts) notices; the SDK's data and the platform are built in."""

    def __init__(self, sp: ShopPrivacy) -> None:
        self.sp = sp
        self.settings: RightsSettings = sp.settings.rights
        self._verify = TokenSigner(sp.keyring, "rights-verify")
        self._download = TokenSigner(sp.keyring, "rights-download")
        self._sources: dict[str, DataSource] = {}
        self._sender: Sender | None = None
        self.sdk_source = SdkSource(self)
        self.identifier_changes = IdentifierChanges(self)
        sp.outbox.register(NOTICE_TOPIC, self._deliver_notice)
        sp.outbox.register(PLATFORM_TOPIC, lambda d: processing.deliver_platform_erase(self, d))

    # -- wiring ---------------------------------------------------------------------------------------
    def register_source(self, source: DataSource) -> None:
        """Add a shop source (e.g. a :class:`~.sources.TableSource`); names must be unique."""
        if not isinstance(source, DataSource):
            raise InvalidInput("a source needs name, find, export, rectify and erase")
        if not isinstance(source.name, str) or not _NAME.match(source.name) or source.name in self._sources \
                or source.name == self.sdk_source.name or source.name.startswith("platform:"):
            raise InvalidInput("a source name is 1-40 characters of a-z, 0-9, '_.:-', unique and not reserved")
        self._sources[source.name] = source

    def set_sender(self, sender: Sender | None) -> None:
        """The function that delivers :class:`~.model.Notice` values (mail, SMS); until set, notices wait."""
        self._sender = sender

    def sources(self, *, forwarded_by: str | None = None) -> list[DataSource]:
        """Every source, the SDK's own first (its suppression is written first) and the platform last.

        A request the platform itself forwarded (the request's ``forwarded_by`` is the adapter's name, e.g.
        Shopify's ``customers/redact``, also when it merged into a request the person opened) leaves the
        platform out: the platform handles its own data and asks only for what the shop's app holds.
        """
        out: list[DataSource] = [self.sdk_source, *self._sources.values()]
        platform = self.platform_source
        if platform is None or (forwarded_by is not None and forwarded_by == self._platform_name()):
            return out
        return [*out, platform]

    def _platform_name(self) -> str | None:
        platform = self.platform_source
        return None if platform is None else str(getattr(platform.adapter, "name", "") or "") or None

    def shop_sources(self) -> list[DataSource]:
        return list(self._sources.values())

    # -- helpers --------------------------------------------------------------------------------------
    def _locale(self, locale: str | None) -> str:
        return negotiate(available_locales(LOCALES), requested=locale if isinstance(locale, str) and len(locale) < 36
                         else None, default=self.sp.settings.default_locale)

    # -- opening --------------------------------------------------------------------------------------
    def open(self, kind: str, identity: Mapping[str, str], *, channel: str = "portal", regime: str | None = None,
             verified_by: str | None = None, changes: Mapping[str, str] | None = None, locale: str | None = None,
             external_id: str | None = None, ip: str | None = None, consent_id: str | None = None,
             orders: Sequence[str] | None = None) -> RightsRequest:
        """Open (or merge into an open one, or return the one with ``external_id``) a request.

        Without ``verified_by``, a signed link is sent to every identifier (the e-mail address, the phone,
        the address on file for a customer id) and only verified identifiers are ever used. The work done
        is the same whether or not the shop knows the person, so the answer reveals nothing. ``orders``:
        order ids the platform named with a forwarded request (sources matching on ``order_id`` use them).
        """
        if kind not in KINDS:
            raise InvalidInput("kind must be export, rectify or erase")
        regime = regime or self.settings.default_regime
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
        now, lang = self.sp.clock(), self._locale(locale)
        bidxs = {k: self._bidx(k, v) for k, v in ids.items()}
        ip_hash = self.sp.keyring.keyed_hash(ip, namespace="ip") if ip else None
        platform = self._platform_name() if verified_by else None  # before the transaction: may set up the adapter
        with self.sp.store.begin() as conn:
            self.sp.store.lock(conn, "shopprivacy:rights:open")
            if external_id is not None:
                row = conn.execute(select(requests).where(requests.c.external_id == external_id)).first()
                if row is not None:
                    return records.to_request(row)
            if verified_by is None:
                self._rate_limit(conn, ids, ip, now)
            merged = self._merge(conn, kind, ids, bidxs, fixes, verified_by, order_ids, platform, now)
            if merged is not None:
                return merged
            return self._create(conn, kind, ids, bidxs, fixes, regime=regime, channel=channel, lang=lang,
                                verified_by=verified_by, external_id=external_id, ip_hash=ip_hash,
                                consent_id=consent_id, dropped=dropped, order_ids=order_ids, now=now)

    def _merge(self, conn: Connection, kind: str, ids: Mapping[str, str], bidxs: Mapping[str, str],
               fixes: Mapping[str, str] | None, verified_by: str | None, order_ids: tuple[str, ...],
               platform: str | None, now: datetime) -> RightsRequest | None:
        q = (select(requests).join(identifiers, identifiers.c.request_id == requests.c.id)
             .where(requests.c.kind == kind, requests.c.state.in_(sorted(OPEN_STATES)),
                    identifiers.c.bidx.in_(list(bidxs.values())), identifiers.c.kind.in_(list(bidxs)))
             .order_by(requests.c.received_at).limit(5))
        for row in conn.execute(q).all():
            if fixes is not None:
                current = self.sp.fields.decrypt(row.changes, context=records.CHANGES_CONTEXT, row=row.id)
                if current != dict(fixes):
                    continue
            have = {i.kind: i for i in records.identifier_rows(conn, row.id)}
            for k, v in ids.items():
                if k not in have:
                    records.add_identifier(self.sp, conn, row.id, k, v, bidx=bidxs[k], origin="request",
                                           verified_at=now if verified_by else None, now=now)
            if order_ids:
                merged_orders = tuple(dict.fromkeys((*records.orders_of(self.sp, row), *order_ids)))
                records.set_state(conn, row.id, now, orders=records.orders_token(self.sp, row.id, merged_orders))
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
                                  verify_expires_at=now + timedelta(hours=self.settings.verify_max_age_hours))
                for k in ids:
                    if have.get(k) is None or have[k].verified_at is None:
                        self.notify(conn, row.id, "verify", k, suffix=now.isoformat())
            self._audit(conn, row, "rights.merged", fields=tuple(sorted(ids)), verified_by=verified_by,
                        restarted=reset or None)
            return records.to_request(records.load(conn, row.id))
        return None

    def _create(self, conn: Connection, kind: str, ids: Mapping[str, str], bidxs: Mapping[str, str],
                fixes: Mapping[str, str] | None, *, regime: str, channel: str, lang: str, verified_by: str | None,
                external_id: str | None, ip_hash: str | None, consent_id: str | None, dropped: list[str],
                order_ids: tuple[str, ...], now: datetime) -> RightsRequest:
        rid = "rr_" + secrets.token_hex(12)
        if "email" in ids:
            subject = self.sp.email.subject_of(ids["email"])
        else:
            first = next(iter(ids))
            subject = self.sp.pseudonym(f"{first}:{ids[first]}", namespace="rights")
        dl = due_dates(regime, now, self.settings.holidays)
        verified_at = now if verified_by else None
        conn.execute(requests.insert().values(
            id=rid, kind=kind, state="verified" if verified_by else "received", regime=regime, channel=channel,
            locale=lang, external_id=external_id, subject=subject, verified_by=verified_by, forwarded_by=verified_by,
            verified_at=verified_at, orders=records.orders_token(self.sp, rid, order_ids),
            verify_expires_at=now + timedelta(hours=self.settings.verify_max_age_hours), received_at=now,
            acknowledge_by=dl.acknowledge_by, due_at=dl.due_at, ip_hash=ip_hash, attempts=0, updated_at=now,
            changes=self.sp.fields.encrypt(dict(fixes), context=records.CHANGES_CONTEXT, row=rid) if fixes else None,
            consent_ref=self.sp.fields.encrypt(consent_id, context=records.CONSENT_CONTEXT, row=rid)
            if consent_id else None))
        for k, v in ids.items():
            records.add_identifier(self.sp, conn, rid, k, v, bidx=bidxs[k], origin=verified_by or "request",
                                   verified_at=verified_at, now=now)
        row = records.load(conn, rid)
        self._audit(conn, row, "rights.opened", actor=verified_by or channel, fields=tuple(sorted(ids)),
                    regime=regime, channel=channel, unusable=",".join(dropped) or None)
        if verified_by:
            self._audit(conn, row, "rights.verified", actor=verified_by, fields=tuple(sorted(ids)))
            if regime == "ccpa":
                self.notify_requester(conn, row, "acknowledged")
        else:
            for k in ids:
                self.notify(conn, rid, "verify", k)
        log.info("rights request %s (%s, %s) opened via %s", rid, kind, regime, channel)
        return records.to_request(row)

    # -- verification ---------------------------------------------------------------------------------
    def read_verify(self, token: str) -> RightsRequest:
        """The request a verification link is for (no change); BadToken, ExpiredToken or NotFoundError."""
        payload = self._verify.verify(token, max_age_seconds=self.settings.verify_max_age_hours * 3600)
        if not isinstance(payload.get("r"), str):
            raise BadToken("the verification link is not valid")
        with self.sp.store.begin(write=False) as conn:
            return records.to_request(records.load(conn, payload["r"]))

    def verify(self, token: str) -> RightsRequest:
        """Verify the identifier a link was sent to. Idempotent; only that identifier becomes usable."""
        payload = self._verify.verify(token, max_age_seconds=self.settings.verify_max_age_hours * 3600)
        rid, kind, bidx = payload.get("r"), payload.get("k"), payload.get("b")
        if not isinstance(rid, str) or kind not in IDENTIFIERS or not isinstance(bidx, str):
            raise BadToken("the verification link is not valid")
        now = self.sp.clock()
        with self.sp.store.begin() as conn:
            row = records.load(conn, rid, lock=True)
            ident = conn.execute(select(identifiers).where(identifiers.c.request_id == rid,
                                                           identifiers.c.kind == kind)).first()
            if ident is None or not hmac.compare_digest(ident.bidx, bidx):
                raise BadToken("the verification link is not valid")
            if row.state not in OPEN_STATES:
                raise ExpiredToken("the request was closed; please make a new one")
            if ident.verified_at is None and row.verify_expires_at <= now:
                raise ExpiredToken("the verification link has expired")
            if ident.verified_at is None:
                conn.execute(update(identifiers).where(identifiers.c.request_id == rid, identifiers.c.kind == kind)
                             .values(verified_at=now))
                if row.verified_at is None:
                    records.set_state(conn, rid, now, verified_at=now, verified_by="link",
                                      state="verified" if row.state == "received" else row.state)
                restarted = records.restart_steps(conn, rid, now)
                self._audit(conn, row, "rights.verified", actor="requester", fields=(kind,),
                            restarted=restarted or None)
            return records.to_request(records.load(conn, rid))

    # -- reading --------------------------------------------------------------------------------------
    def get(self, request_id: str) -> RightsRequest:
        with self.sp.store.begin(write=False) as conn:
            return records.to_request(records.load(conn, request_id))

    def find(self, *, state: str | None = None, overdue: bool = False, limit: int = 100) -> list[RightsRequest]:
        """Requests, soonest due first; ``overdue=True``: open requests past their due date."""
        q = select(requests).order_by(requests.c.due_at, requests.c.id).limit(limit)
        if state is not None:
            q = q.where(requests.c.state == state)
        if overdue:
            q = q.where(requests.c.state.in_(sorted(OPEN_STATES)), requests.c.due_at < self.sp.clock())
        with self.sp.store.begin(write=False) as conn:
            return [records.to_request(r) for r in conn.execute(q).all()]

    def receipt(self, request_id: str) -> Receipt:
        """The request, its per-source receipts and failures, and its audited timeline."""
        with self.sp.store.begin(write=False) as conn:
            row = records.load(conn, request_id)
            steps = records.step_rows(conn, row.id)
        sources = tuple(SourceReceipt.from_json(s.receipt) for s in steps.values() if s.receipt)
        failures = {name: s.last_error or "" for name, s in steps.items()
                    if s.status == "failed" or (s.status == "pending" and s.last_error)}
        timeline = tuple((e.at, e.action) for e in self.sp.audit.entries(subject=row.subject, limit=5000)
                         if e.meta.get("request") == row.id)
        return Receipt(records.to_request(row), sources, failures, timeline)

    def consent_id_of(self, request_id: str) -> str | None:
        if not request_id:
            return None
        with self.sp.store.begin(write=False) as conn:
            token = conn.execute(select(requests.c.consent_ref).where(requests.c.id == request_id)).scalar()
        if token is None:
            return None
        value = self.sp.fields.decrypt(token, context=records.CONSENT_CONTEXT, row=request_id)
        return value if isinstance(value, str) else None

    def _related(self, conn: Connection, subject: Subject) -> list[Any]:
        bidxs = [self._bidx(k, v) for k in ("email", "phone", "customer_id") if (v := subject.get(k))]
        if not bidxs:
            return []
        # a new e-mail or phone not yet confirmed (identifier_change) links the request to nobody
        linking = identifiers.c.kind.in_(IDENTIFIERS) | identifiers.c.verified_at.is_not(None)
        q = (select(requests).join(identifiers, identifiers.c.request_id == requests.c.id)
             .where(identifiers.c.bidx.in_(bidxs), requests.c.id != subject.request_id, linking).distinct())
        return list(conn.execute(q).all())

    def requests_of(self, subject: Subject) -> list[dict[str, Any]]:
        """Earlier requests of the same person (for the export)."""
        with self.sp.store.begin(write=False) as conn:
            rows = self._related(conn, subject)
        return [{"id": r.id, "kind": r.kind, "state": r.state, "received_at": r.received_at.isoformat(),
                 "completed_at": r.completed_at.isoformat() if r.completed_at else None} for r in rows]

    def pseudonyms(self, subject: Subject) -> set[str]:
        out = {subject.pseudonym} if subject.pseudonym else set()
        if subject.email:
            out.add(self.sp.email.subject_of(subject.email))
        out.update(sid for sid, _ in self.sdk_source.linked(subject))
        return out

    def forget_earlier(self, subject: Subject) -> int:
        """Erasure of the rights data itself: the person's other open requests are closed first (rejected,
        superseded by this erasure), then earlier exports shredded and deleted and identifiers dropped."""
        now = self.sp.clock()
        with self.sp.store.begin() as conn:
            rows = self._related(conn, subject)
            ids = [r.id for r in rows]
            for r in rows:
                if r.state in OPEN_STATES:
                    n = conn.execute(update(requests).where(requests.c.id == r.id,
                                                            requests.c.state.in_(sorted(OPEN_STATES))).values(
                        state="rejected", reject_reason=f"superseded by erasure request {subject.request_id}"[:200],
                        completed_at=now, updated_at=now, next_attempt_at=None)).rowcount
                    if n:
                        self._audit(conn, r, "rights.rejected", actor="rights", superseded_by=subject.request_id)
            if ids:
                conn.execute(update(exports).where(exports.c.request_id.in_(ids)).values(archive=None,
                                                                                         wrapped_key=None))
                conn.execute(update(identifiers).where(identifiers.c.request_id.in_(ids)).values(value=None))
                conn.execute(update(requests).where(requests.c.id.in_(ids)).values(changes=None, consent_ref=None,
                                                                                   orders=None))
        for s in {r.subject for r in rows} | {processing.export_subject(r.id) for r in rows} | self.pseudonyms(subject):
            self.sp.fields.shred(s, actor="rights")
        return len(rows)

    # -- decisions ------------------------------------------------------------------------------------
    def extend(self, request_id: str, reason: str, *, actor: str = "operator") -> RightsRequest:
        """Extend once (GDPR: to three months from receipt; CCPA: to 90 days), telling the requester why."""
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
            raise InvalidInput("an extension needs a reason of 1-200 characters")
        now = self.sp.clock()
        with self.sp.store.begin() as conn:
            row = records.load(conn, request_id, lock=True)
            if row.state not in OPEN_STATES or row.extended_at is not None:
                raise ConflictError(f"request {row.id} is {row.state} and cannot be extended"
                                    + (" again" if row.extended_at else ""))
            if row.verified_at is None:
                raise ConflictError(f"request {row.id} is not verified; only a verified request can be extended")
            due = due_dates(row.regime, row.received_at, self.settings.holidays).extended_due_at
            records.set_state(conn, row.id, now, state="extended", extended_at=now, extension_reason=reason.strip(),
                              due_at=due, reminded_at=None)
            self._audit(conn, row, "rights.extended", actor=actor, due=due.date().isoformat())
            self.notify_requester(conn, row, "extended")
            return records.to_request(records.load(conn, row.id))

    def reject(self, request_id: str, reason: str, *, actor: str = "operator") -> RightsRequest:
        """Refuse a request (e.g. manifestly unfounded, or a legal obligation to keep the data), with reason."""
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
            raise InvalidInput("a rejection needs a reason of 1-200 characters")
        now = self.sp.clock()
        with self.sp.store.begin() as conn:
            row = records.load(conn, request_id, lock=True)
            if row.state not in OPEN_STATES:
                raise ConflictError(f"request {row.id} is already {row.state}")
            records.set_state(conn, row.id, now, state="rejected", reject_reason=reason.strip(), completed_at=now)
            self._audit(conn, row, "rights.rejected", actor=actor)
            self.notify_requester(conn, row, "rejected")
            return records.to_request(records.load(conn, row.id))

    # -- work -----------------------------------------------------------------------------------------
    def process(self, request_id: str) -> RightsRequest:
        """Run a verified request now: export, erase or rectify across every source (see processing)."""
        return processing.process(self, request_id)

    def run_due(self, now: datetime) -> dict[str, int]:
        """Process ready requests, expire abandoned ones, remind the operator, count the overdue."""
        return processing.run_due(self, now)

    def redact_shop(self, *, external_id: str) -> Mapping[str, Any]:
        """Remove what the SDK and the shop sources hold for this shop (platform ``shop/redact``)."""
        return processing.redact_shop(self, external_id=external_id)

    def queue_platform_erase(self, request_id: str, source: str, customer_id: str) -> None:
        key = f"rights:{request_id}:{source}"[:200]
        token = self.sp.fields.encrypt(customer_id, context=NOTICE_CONTEXT, row=key)
        self.sp.outbox.add(PLATFORM_TOPIC, {"request": request_id, "source": source, "customer": token},
                           idempotency_key=key)

    def _ready_filter(self, now: datetime) -> Any:
        return and_(requests.c.state.in_(["verified", "in_progress", "extended"]), requests.c.verified_at.is_not(None),
                    (requests.c.next_attempt_at.is_(None)) | (requests.c.next_attempt_at <= now))

