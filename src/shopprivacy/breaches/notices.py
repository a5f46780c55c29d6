"""Notices to affected subjects (GDPR Art. 34): queued in the outbox, one row per recipient, and sent through
the shop's sender in the recipient's language. The register tracks each recipient by pseudonym (to send,
queued, sent, failing, unreachable); an address found in a shop's table travels encrypted, bound to its outbox
row, and nothing personal is logged or kept."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from ..errors import ConflictError, InvalidInput, RetryLater, ShopPrivacyError
from ..i18n import available_locales, catalog, direction, match, negotiate
from ..mail import ServiceMail
from ..rights.sources import TableSource
from .inventory import Inventory
from .model import Breach, NoticeText
from .tables import breach_subjects

if TYPE_CHECKING:
    from ..email.subjects import Subjects
    from ..fields.api import Fields
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from ..store.outbox import Delivery, Outbox
    from .register import Register

NOTICE_TOPIC = "breach.notice"
NOTICE_CONTEXT = "sp_outbox.breach"
LOCALES = "shopprivacy.breaches"
_BATCH = 500


@dataclass(frozen=True)
class BreachNotice(ServiceMail):
    """The notice of breach ``breach_id`` to one affected subject (a :class:`~shopprivacy.mail.ServiceMail`)."""

    breach_id: str


Sender = Callable[[BreachNotice], None]


def render(breach: Breach, locale: str, to: str) -> BreachNotice:
    """The notice of ``breach`` in ``locale``: what happened, likely consequences, measures, contact (Art. 34(2),
    with Art. 33(3)(b)-(d)). The incident's own words come from its translation for ``locale`` when given."""
    incident = breach.incident
    t = catalog(LOCALES, locale)
    own = incident.translations.get(locale) or NoticeText(nature=incident.nature, consequences=incident.consequences,
                                                         measures=incident.measures)
    sections = [(t["what_happened"], own.nature), (t["consequences"], own.consequences),
                (t["measures"], own.measures), (t["contact"], incident.contact)]
    subject = t["subject"].format(shop=incident.controller)
    intro = t["intro"].format(shop=incident.controller)
    text = "\n\n".join([t["greeting"], intro, *(f"{head}\n{body}" for head, body in sections), t["closing"]]) + "\n"
    e = html.escape
    body = "".join(f"<h2>{e(head)}</h2><p>{e(text_)}</p>" for head, text_ in sections)
    page = (f'<!doctype html><html lang="{e(locale)}" dir="{direction(locale)}"><head><meta charset="utf-8">'
            f"<title>{e(subject)}</title></head><body><p>{e(t['greeting'])}</p><p>{e(intro)}</p>{body}"
            f"<p>{e(t['closing'])}</p></body></html>")
    return BreachNotice(breach_id=breach.id, to=to, locale=locale, subject=subject, text=text, html=page)


class Notices:
    """Queueing notices (:meth:`queue`) and delivering them (:meth:`deliver`, the outbox handler)."""

    def __init__(self, *, store: Store, audit: AuditLog, fields: Fields, outbox: Outbox, subjects: Subjects,
                 inventory: Inventory, register: Register, clock: Callable[[], datetime],
                 default_locale: str) -> None:
        self.store, self.audit, self.fields, self.outbox = store, audit, fields, outbox
        self.subjects, self.inventory, self.register, self.clock = subjects, inventory, register, clock
        self.default_locale = default_locale
        self.sender: Sender | None = None

    def locale(self, requested: str | None) -> str:
        """The notice language: the file serving ``requested`` (``pt-br`` -> ``pt-BR``), else the default."""
        if requested is not None:
            found = match(available_locales(LOCALES), requested)
            if found is None:
                raise InvalidInput(f"no notice texts in {requested[:20]!r}; available: "
                                   + ", ".join(sorted(available_locales(LOCALES))))
            return found
        return negotiate(available_locales(LOCALES), default=self.default_locale)

    # -- queueing -----------------------------------------------------------------------------------------
    def queue(self, breach: Breach, *, locale: str | None, actor: str) -> int:
        """Queue a notice for every subject still ``to_send``; returns how many were queued. Resumable: each
        batch commits with its subjects marked ``queued``, and a rerun picks up the rest."""
        if breach.incident.high_risk is not True:
            raise ConflictError(f"breach {breach.id}: notices to subjects are due only when the breach is likely "
                                "to result in a high risk (GDPR Art. 34(1)); record high_risk: true with "
                                "`breach update` first")
        if breach.assessment is None:
            raise ConflictError(f"breach {breach.id}: compute the affected subjects first (`breach assess`)")
        lang = self.locale(locale)
        addresses = self._addresses_in_sources(breach)
        queued = 0
        while True:
            with self.store.begin() as conn:
                batch = [r[0] for r in conn.execute(
                    select(breach_subjects.c.subject).where(breach_subjects.c.breach_id == breach.id,
                                                            breach_subjects.c.notice == "to_send")
                    .order_by(breach_subjects.c.subject).limit(_BATCH))]
                if not batch:
                    break
                for subject in batch:
                    self._enqueue(conn, breach.id, subject, lang, addresses.get(subject))
                queued += len(batch)
        if queued:
            with self.store.begin() as conn:
                self.register.step(conn, breach.id, "notices_queued", actor=actor, now=self.clock(),
                                   queued=queued, locale=lang)
        return queued

    def _enqueue(self, conn: Connection, breach_id: str, subject: str, locale: str, address: str | None) -> None:
        key = f"breach:{breach_id}:{subject}"
        payload: dict[str, Any] = {"breach": breach_id, "subject": subject, "locale": locale}
        if address is not None:
            payload["address"] = self.fields.encrypt(address, context=NOTICE_CONTEXT, row=key)
        self.outbox.enqueue(conn, NOTICE_TOPIC, payload, idempotency_key=key)
        conn.execute(update(breach_subjects).where(breach_subjects.c.breach_id == breach_id,
                                                   breach_subjects.c.subject == subject)
                     .values(notice="queued", queued_at=self.clock()))

    def _addresses_in_sources(self, breach: Breach) -> dict[str, str]:
        """Addresses of subjects still to be told that only an in-scope shop table holds (the SDK's own e-mail
        store is read at delivery): pseudonym -> address, in memory for this run only."""
        with self.store.begin(write=False) as conn:
            wanted = {r[0] for r in conn.execute(select(breach_subjects.c.subject).where(
                breach_subjects.c.breach_id == breach.id, breach_subjects.c.notice == "to_send"))}
        wanted -= self.subjects.with_address(sorted(wanted)) if wanted else set()
        out: dict[str, str] = {}
        scope = breach.incident.scope
        for info in self.inventory.check(scope.stores, scope.fields).values():
            source = info.source
            if not wanted or not isinstance(source, TableSource) or source.match != "email" or source.blind_indexed:
                continue
            col = source.table.c[source.subject_column]
            with source.engine.connect() as conn:
                values = [str(r[0]) for r in conn.execute(select(col).distinct().where(col.is_not(None)))]
            for value in values:
                try:
                    subject = self.subjects.subject_of(value)
                except InvalidInput:
                    continue
                if subject in wanted:
                    out[subject] = value.strip()
        return out

    # -- delivery -----------------------------------------------------------------------------------------
    def deliver(self, delivery: Delivery) -> None:
        """Send one queued notice through the sender (RetryLater until one is set); idempotent per recipient."""
        if self.sender is None:
            raise RetryLater("no breach notice sender is set (sp.breaches.set_sender)", retry_after=600)
        p = delivery.payload
        breach_id, subject = str(p["breach"]), str(p["subject"])
        with self.store.begin(write=False) as conn:
            row = conn.execute(select(breach_subjects).where(breach_subjects.c.breach_id == breach_id,
                                                             breach_subjects.c.subject == subject)).first()
        if row is None or row.notice == "sent":
            return
        breach = self.register.get(breach_id)
        if p.get("address"):
            address = self.fields.decrypt(p["address"], context=NOTICE_CONTEXT, row=delivery.idempotency_key)
        else:
            address = self.subjects.address_for(subject)
        if not isinstance(address, str):
            self._settle(breach_id, subject, "unreachable", "address erased before the notice was sent")
            return
        notice = render(breach, str(p.get("locale") or self.default_locale), address)
        try:
            self.sender(notice)
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}" if isinstance(exc, ShopPrivacyError) else type(exc).__name__
            self._settle(breach_id, subject, "failing", text[:200], attempts=delivery.attempt)
            raise
        self._settle(breach_id, subject, "sent", None, attempts=delivery.attempt)

    def _settle(self, breach_id: str, subject: str, notice: str, error: str | None, *, attempts: int = 0) -> None:
        now = self.clock()
        with self.store.begin() as conn:
            conn.execute(update(breach_subjects).where(breach_subjects.c.breach_id == breach_id,
                                                       breach_subjects.c.subject == subject)
                         .values(notice=notice, last_error=error, attempts=attempts,
                                 sent_at=now if notice == "sent" else None))
            self.audit.append(conn, actor="system", action=f"breach.notice_{notice}", subject=subject,
                              meta={"breach": breach_id})

    def counts(self, breach_id: str) -> dict[str, int]:
        """Subjects per notice state."""
        with self.store.begin(write=False) as conn:
            rows = conn.execute(select(breach_subjects.c.notice, func.count())
                                .where(breach_subjects.c.breach_id == breach_id)
                                .group_by(breach_subjects.c.notice)).all()
        return {str(k): int(n) for k, n in rows}
