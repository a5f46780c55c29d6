"""``sp.declaration``: the shop's data declaration, the documents generated from it, and its drift checks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from ..errors import ShopPrivacyError
from ..keys import Keyring
from ..retention.rules import Rule
from ..store.engine import Store
from .age import AgeGate
from .changes import ChangeNotices, Publication, Sender
from .documents import Document, Generator
from .drift import Drift, check
from .loader import DeclarationError, digest, load_declaration
from .model import Children, Declaration, Sunset
from .settings import DeclarationSettings
from .sunset import Sunsetting
from .tables import observed_cookies

log = logging.getLogger("shopprivacy.declaration")
_NO_FILE = "no declaration: set SHOPPRIVACY_DECLARATION__FILE to your declaration TOML (docs/declaration.md)"


class Declarations:
    """The declaration in ``settings.file`` (loaded once), and what is generated and checked from it."""

    def __init__(self, settings: DeclarationSettings, *, store: Store, keyring: Keyring, clock: Callable[[], datetime],
                 rules: Callable[[], Sequence[Rule]], portal_url: str, changes: ChangeNotices,
                 sunset: Callable[[Callable[[], Sunset | None]], Sunsetting]) -> None:
        self.settings, self.store, self.keyring, self.clock = settings, store, keyring, clock
        self._rules, self.portal_url = rules, portal_url
        self._observed: set[str] = set()
        #: Published versions and their change notices to customers.
        self.changes = changes
        #: The inactivity sunset: ``sunset.record(address, kind)`` when a contact interacts.
        self.sunset = sunset(lambda: self.current.sunset if self.current is not None else None)

    def run_due(self, now: datetime) -> dict[str, int]:
        """The inactivity sunset (``run-due``)."""
        done = self.sunset.run(now)
        return {"sunset_removed": done.removed, "sunset_erased": done.erased}

    def set_sender(self, sender: Sender | None) -> None:
        """Who sends the change notices (``ChangeNotice`` objects) when a version changes something material."""
        self.changes.sender = sender

    def publish(self, *, actor: str = "system") -> Publication:
        """Record the current declaration as published; a material change queues a notice to every customer
        whose address the SDK holds (resumable: run it again after an interruption)."""
        return self.changes.publish(self.require(), actor=actor)

    @cached_property
    def current(self) -> Declaration | None:
        """The declaration, or ``None`` when the shop has none (everything else keeps working)."""
        return load_declaration(self.settings.file) if self.settings.file is not None else None

    def require(self) -> Declaration:
        if self.current is None:
            raise DeclarationError(_NO_FILE)
        return self.current

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the declaration's canonical form."""
        return digest(self.require())

    @cached_property
    def age_gate(self) -> AgeGate:
        """The age gate for sign-up and newsletter forms (thresholds from the declaration's ``[children]``)."""
        children = self.current.children if self.current is not None else Children()
        return AgeGate(children, store=self.store, keyring=self.keyring, clock=self.clock)

    def _generator(self) -> Generator:
        template = None
        if self.settings.notice_template is not None:
            try:
                template = Path(self.settings.notice_template).read_text(encoding="utf-8")
            except OSError as exc:
                raise DeclarationError(f"cannot read the notice template: {exc.strerror}; fix "
                                       "SHOPPRIVACY_DECLARATION__NOTICE_TEMPLATE") from None
        return Generator(self.require(), self.digest, rules=self._rules(), portal_url=self.portal_url,
                         notice_template=template)

    def notice(self, locale: str | None = None) -> Document:
        """The privacy notice (Markdown and HTML fragment) in ``locale`` (negotiated; English by default)."""
        return self._generator().notice(locale)

    def record(self, locale: str | None = None) -> Document:
        """The record of processing activities (GDPR Art. 30) as CSV and HTML."""
        return self._generator().record(locale)

    def cookie_table(self, locale: str | None = None) -> Document:
        """The cookie table, for the cookie policy page and the banner's Customize panel."""
        return self._generator().cookie_table(locale)

    def observe(self, names: Iterable[str]) -> None:
        """Remember the names (never values) of cookies a response set, for :meth:`drift`."""
        fresh = {n for n in names if n and len(n) <= 100 and n not in self._observed}
        if not fresh:
            return
        now = self.clock()
        with self.store.begin() as conn:
            known = {r.name for r in conn.execute(select(observed_cookies.c.name)
                                                  .where(observed_cookies.c.name.in_(sorted(fresh))))}
            if known:
                conn.execute(update(observed_cookies).where(observed_cookies.c.name.in_(sorted(known)))
                             .values(last_seen=now, seen=observed_cookies.c.seen + 1))
            new = sorted(fresh - known)
            if new:
                conn.execute(insert(observed_cookies), [{"name": n, "first_seen": now, "last_seen": now, "seen": 1}
                                                         for n in new])
        self._observed |= fresh

    def watching(self, debug: bool = False) -> bool:
        """Whether an integration should report the cookies responses set: a declaration exists, and the app
        runs in debug mode or ``SHOPPRIVACY_DECLARATION__WATCH_COOKIES`` is on."""
        return self.settings.file is not None and (debug or self.settings.watch_cookies)

    def observe_headers(self, set_cookie_headers: Iterable[str]) -> None:
        """:meth:`observe` the names in ``Set-Cookie`` header values; a database problem is logged, never raised
        (watching must not break a page)."""
        names = [h.split("=", 1)[0].strip() for h in set_cookie_headers if "=" in h]
        try:
            self.observe(names)
        except ShopPrivacyError as exc:
            log.warning("cookie names not recorded for the declaration check: %s", type(exc).__name__)

    def observed(self) -> list[str]:
        with self.store.begin(write=False) as conn:
            return [r.name for r in conn.execute(select(observed_cookies.c.name).order_by(observed_cookies.c.name))]

    def drift(self, *, sources: Sequence[Any] | None = None) -> list[Drift]:
        """Every disagreement between the declaration and the retention rules, the rights ``sources`` (pass
        ``sp.rights.sources.all()``; ``None`` skips that check) and the cookies seen."""
        return check(self.require(), rules=self._rules(), sources=sources, cookies_seen=self.observed())
