"""Publishing a new version of the declaration: each version is kept with its content, and a material change
(a new purpose, a new processor or a processor receiving more, a new data category) queues a change notice to
every customer whose address the SDK holds, through the outbox — a service message, sent whatever their
marketing choices, never logged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ..errors import RetryLater
from ..mail import ServiceMail
from .loader import digest
from .model import Declaration
from .tables import declaration_versions
from .texts import Words

if TYPE_CHECKING:
    from ..email.subjects import Subjects
    from ..store.audit import AuditLog
    from ..store.engine import Store
    from ..store.outbox import Delivery, Outbox

TOPIC = "declaration.change_notice"
_BATCH = 500


def material_changes(old: Declaration, new: Declaration) -> list[str]:
    """What a customer must be told about: new purposes, new data categories, new recipients, and recipients
    that receive more data or serve more purposes than before (``"purpose:<id>"``, ``"data:<id>"``,
    ``"processor:<id>"``)."""
    out = [f"purpose:{p}" for p in new.purposes if p not in old.purposes]
    out += [f"data:{d}" for d in new.data if d not in old.data]
    for pid, proc in new.processors.items():
        before = old.processors.get(pid)
        if before is None or not (set(proc.data) <= set(before.data) and set(proc.purposes) <= set(before.purposes)):
            out.append(f"processor:{pid}")
    return out


@dataclass(frozen=True)
class Publication:
    """What :meth:`ChangeNotices.publish` did: the version, whether it was new, its material ``changes`` and how
    many notices were queued (``queued``; resumed work counts too)."""

    version: str
    digest: str
    new: bool
    changes: tuple[str, ...]
    queued: int


@dataclass(frozen=True)
class ChangeNotice(ServiceMail):
    """The notice of declaration ``version``'s material changes to one customer (a
    :class:`~shopprivacy.mail.ServiceMail`)."""

    version: str


Sender = Callable[[ChangeNotice], None]


class ChangeNotices:
    """Publishes versions and delivers their change notices."""

    def __init__(self, *, store: Store, audit: AuditLog, outbox: Outbox, subjects: Callable[[], Subjects],
                 clock: Callable[[], datetime], notice_url: str, default_locale: str = "en") -> None:
        self.store, self.audit, self.outbox, self._subjects = store, audit, outbox, subjects
        self.clock, self.notice_url, self.default_locale = clock, notice_url, default_locale
        self.sender: Sender | None = None
        outbox.register(TOPIC, self.deliver)

    def publish(self, decl: Declaration, *, actor: str = "system") -> Publication:
        """Record ``decl`` as the current version (idempotent) and queue its change notices when it changes
        something material since the previous version; resumes queueing a version interrupted half-way."""
        this = digest(decl)
        with self.store.begin() as conn:
            row = conn.execute(select(declaration_versions).where(declaration_versions.c.digest == this)).first()
            new = row is None
            if new:
                last = conn.execute(select(declaration_versions.c.content)
                                    .order_by(declaration_versions.c.published_at.desc()).limit(1)).first()
                changes = material_changes(Declaration.model_validate(last.content), decl) if last else []
                conn.execute(insert(declaration_versions).values(
                    digest=this, version=decl.version, published_at=self.clock(),
                    content=decl.model_dump(mode="json"), changes=changes,
                    notices="queuing" if changes else "none", queued_through=None, queued=0))
                self.audit.append(conn, actor=actor, action="declaration.published",
                                  meta={"version": decl.version, "digest": this[:16], "changes": len(changes)})
                state, cursor, done = ("queuing" if changes else "none"), "", 0
            else:
                assert row is not None
                changes, state, cursor, done = list(row.changes), row.notices, row.queued_through or "", row.queued
        queued = self._queue(this, decl.version, cursor, done) if state == "queuing" else done
        return Publication(decl.version, this, new, tuple(changes), queued)

    def _queue(self, this: str, version: str, cursor: str, done: int) -> int:
        subjects = self._subjects()
        for batch in subjects.held(batch=_BATCH):
            todo = [s for s, held in batch if held and s > cursor]
            if not todo:
                continue
            with self.store.begin() as conn:
                for subject in todo:
                    self.outbox.enqueue(conn, TOPIC, {"digest": this, "version": version, "subject": subject},
                                        idempotency_key=f"declaration:{this[:16]}:{subject}")
                done += len(todo)
                self._progress(conn, this, "queuing", todo[-1], done)
        with self.store.begin() as conn:
            self._progress(conn, this, "queued", None, done)
        return done

    @staticmethod
    def _progress(conn: Connection, this: str, state: str, through: str | None, done: int) -> None:
        values: dict[str, Any] = {"notices": state, "queued": done}
        if through is not None:
            values["queued_through"] = through
        conn.execute(update(declaration_versions).where(declaration_versions.c.digest == this).values(**values))

    def deliver(self, delivery: Delivery) -> None:
        """Send one change notice (RetryLater until a sender is set); an erased address is skipped."""
        if self.sender is None:
            raise RetryLater("no change-notice sender is set (sp.declaration.set_sender)", retry_after=600)
        p = delivery.payload
        address = self._subjects().address_for(str(p["subject"]))
        if not isinstance(address, str):
            return
        with self.store.begin(write=False) as conn:
            row = conn.execute(select(declaration_versions.c.changes, declaration_versions.c.content)
                               .where(declaration_versions.c.digest == str(p["digest"]))).first()
        if row is None:
            return
        self.sender(self.render(Declaration.model_validate(row.content), list(row.changes), address))

    def render(self, decl: Declaration, changes: list[str], to: str, locale: str | None = None) -> ChangeNotice:
        """The notice: what changed (by the declaration's own names) and where the new notice is."""
        w = Words(locale or self.default_locale)
        lines = []
        for change in changes:
            kind, _, key = change.partition(":")
            if kind == "purpose" and key in decl.purposes:
                lines.append(w("change_purpose", name=w.pick(decl.purposes[key].name)))
            elif kind == "data" and key in decl.data:
                lines.append(w("change_data", name=w.pick(decl.data[key].name)))
            elif kind == "processor" and key in decl.processors:
                lines.append(w("change_processor", name=decl.processors[key].name))
        subject = w("change_subject", shop=decl.controller.name)
        intro = w("change_intro", shop=decl.controller.name, version=decl.version)
        outro = w("change_link", url=self.notice_url)
        text = "\n\n".join([intro, "\n".join(f"- {line}" for line in lines), outro])
        page = (f"<p>{escape(intro)}</p><ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines)
                + f'</ul><p><a href="{escape(self.notice_url)}">{escape(outro)}</a></p>')
        return ChangeNotice(decl.version, to=to, locale=w.locale, subject=subject, text=text, html=page)
