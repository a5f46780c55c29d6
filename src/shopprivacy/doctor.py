"""``shopprivacy doctor``: checks settings, keys, database, schema, adapters and pending work."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from .app import ShopPrivacy
from .breaches.service import DUE_SOON
from .errors import ShopPrivacyError
from .platforms import available_adapters
from .settings import Settings, Spelling, env_spelling

Level = Literal["ok", "warning", "problem"]


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    message: str


def run_checks(environ: Mapping[str, str] | None = None, *, spelling: Spelling = env_spelling,
               facade: Callable[[], ShopPrivacy] | None = None) -> list[Finding]:
    """Every check, in order; a failed step stops only the checks that depend on it. A setting problem gives
    one finding per line of its message; ``spelling`` names settings the way the caller's configuration does.
    ``facade``: an integration's configured facade, whose registered rights sources the declaration is checked
    against (without it, that one check is left out)."""
    return list(_checks(environ, spelling, facade))


def _safe(check: str, fn: Callable[[], str], *, foreign: bool = False) -> tuple[Finding, bool]:
    """``fn``'s message as an ok finding, or its error as a problem. ``foreign``: code outside the SDK (a platform
    adapter) runs, so any exception it raises is reported in one line instead of ending the report."""
    try:
        return Finding(check, "ok", fn()), True
    except ShopPrivacyError as exc:
        return Finding(check, "problem", str(exc)), False
    except Exception as exc:
        if not foreign:
            raise
        first = (str(exc).splitlines() or [""])[0][:200]
        return Finding(check, "problem", f"the adapter failed to start ({type(exc).__name__}: {first}); "
                                         "reinstall it, or report this to its authors"), False


def _checks(environ: Mapping[str, str] | None, spelling: Spelling,
            facade: Callable[[], ShopPrivacy] | None = None) -> Iterator[Finding]:
    try:
        settings = Settings.from_env(environ, spelling=spelling)
    except ShopPrivacyError as exc:
        for line in str(exc).splitlines():
            yield Finding("settings", "problem", line)
        return
    yield Finding("settings", "ok", f"platform {settings.platform!r}, locale {settings.default_locale!r}")
    sp = ShopPrivacy(settings)
    try:
        finding, keys_ok = _safe("keys", lambda: f"{len(sp.keyring.ids)} key(s), primary {sp.keyring.primary_id!r}")
        yield finding
        if keys_ok:
            yield from _keyset_file(settings)
        finding, db_ok = _safe("database", lambda: _database(sp))
        yield finding
        if db_ok:
            finding, schema_ok = _safe("schema", lambda: _schema(sp))
            yield finding
            if schema_ok and keys_ok:
                yield _outbox(sp)
                yield _audit(sp)
                yield _erasure_journal(sp)
                yield _breaches(sp)
                yield _field_reads(sp)
                yield from _declaration(sp, facade)
        installed = available_adapters()
        yield Finding("adapters", "ok" if installed else "warning", "installed: " + (", ".join(installed) or "none"))
        if not db_ok and settings.platform == "local" and "database_url" not in settings.platform_options:
            yield Finding("platform", "problem", "the local adapter keeps its tables in the same database: "
                                                 "not checked until the database problem above is fixed")
            return
        finding, adapter_ok = _safe("platform", lambda: f"adapter {sp.adapter.name!r} loaded", foreign=True)
        for line in finding.message.splitlines():
            yield Finding(finding.check, finding.level, line)
        if adapter_ok:
            extra = getattr(sp.adapter, "doctor", None)
            if callable(extra):
                for level, message in extra():
                    yield Finding(f"platform:{sp.adapter.name}", level, message)
    finally:
        sp.close()


def _keyset_file(settings: Settings) -> Iterator[Finding]:
    """A keyset file other users may read (or write) is a problem: its keys decrypt every field."""
    path = settings.keyset_file
    if settings.keyset is not None or path is None:
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        yield Finding("keys", "problem", f"the keyset file {str(path)!r} is open to other users (mode "
                                         f"{stat.S_IMODE(mode):04o}): chmod 600 {path}")


def _database(sp: ShopPrivacy) -> str:
    with sp.store.begin(write=False):
        pass
    return f"reachable ({sp.store.safe_url})"


def _schema(sp: ShopPrivacy) -> str:
    sp.store.check()
    return f"current ({sp.store.schema_status()[0]})"


def _audit(sp: ShopPrivacy) -> Finding:
    """The audit chain, checked against its anchor; a warning when no anchor is configured."""
    finding, ok = _safe("audit", lambda: f"chain intact, {sp.audit.verify().entries} entries")
    if not ok:
        return finding
    if sp.audit.anchor_file is None:
        return Finding("audit", "warning", finding.message + "; not anchored, so a cut tail goes unnoticed: set "
                                                             "SHOPPRIVACY_AUDIT__ANCHOR_PATH (docs/operations.md)")
    return Finding("audit", "ok", finding.message + f"; anchored in {sp.audit.anchor_file.path}")


def _erasure_journal(sp: ShopPrivacy) -> Finding:
    """Where erasures are journaled, and whether the database is behind its journal (a restored backup)."""
    try:
        journal = sp.erasure_journal
    except ShopPrivacyError as exc:
        return Finding("erasures", "problem", str(exc))
    if journal is None:
        return Finding("erasures", "warning", "no erasure journal: a restored backup brings erased customers back; "
                                              "set SHOPPRIVACY_ERASURE_JOURNAL__URL to a database other than the "
                                              "SDK's (docs/rights.md, backups)")
    try:
        mark, last = sp.rights.erasures.status()
    except ShopPrivacyError as exc:
        return Finding("erasures", "problem", f"the erasure journal ({journal.safe_url}) cannot be read: {exc}")
    if mark < last:
        return Finding("erasures", "warning", f"the database is behind its erasure journal (applied up to entry "
                                              f"{mark}, the journal holds {last}): a restored backup? run "
                                              "`shopprivacy erasures replay`, then `shopprivacy run-due`")
    return Finding("erasures", "ok", f"up to date with its journal ({last} entries, {journal.safe_url})")


def _outbox(sp: ShopPrivacy) -> Finding:
    counts = sp.outbox.counts()
    dead = counts.get("dead", 0)
    text = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "empty"
    if dead:
        return Finding("outbox", "warning", f"{text}; inspect with `shopprivacy outbox dead`")
    return Finding("outbox", "ok", text)


def _breaches(sp: ShopPrivacy) -> Finding:
    """Open breaches against the 72-hour deadline to the authority (GDPR Art. 33(1))."""
    now = sp.clock()
    pending = [b for b in sp.breaches.find(state="open", limit=1000) if b.authority == "pending"]
    overdue = [b for b in pending if b.overdue(now)]
    if overdue:
        names = ", ".join(f"{b.id} (due {b.authority_due_at:%Y-%m-%d %H:%M}Z)" for b in overdue[:5])
        return Finding("breaches", "problem", f"{len(overdue)} breach(es) past the 72 hours without a report to the "
                                              f"authority: {names}; report with reasons for the delay "
                                              "(`shopprivacy breach report ID --delay-reason ...`)")
    soon = [b for b in pending if b.time_left(now) <= DUE_SOON]
    if soon:
        names = ", ".join(f"{b.id} ({b.time_left(now).total_seconds() / 3600:.0f} h left)" for b in soon[:5])
        return Finding("breaches", "warning", f"report due within 24 hours: {names}")
    return Finding("breaches", "ok", f"{len(pending)} open breach(es) awaiting a report, none due within 24 hours"
                   if pending else "no breach awaiting a report to the authority")


def _field_reads(sp: ShopPrivacy) -> Finding:
    """Actors who read more encrypted fields over the last day than the access policy calls usual."""
    log = sp.fields.access_log
    volume = log.volume(hours=24) if log is not None else {}
    limit = sp.settings.fields.access.unusual_daily_reads
    unusual = sorted(((n, actor) for actor, n in volume.items() if n > limit), reverse=True)
    if unusual:
        names = ", ".join(f"{actor} ({n} reads)" for n, actor in unusual[:5])
        return Finding("field reads", "warning", f"unusual read volume over the last 24 hours: {names}; above "
                                                 f"{limit} (SHOPPRIVACY_FIELDS__ACCESS__UNUSUAL_DAILY_READS); "
                                                 "review their reads in sp_field_reads (docs/fields.md)")
    total = sum(volume.values())
    return Finding("field reads", "ok", f"{total} audited read(s) by {len(volume)} actor(s) over the last 24 hours")


def _declaration(sp: ShopPrivacy, facade: Callable[[], ShopPrivacy] | None = None) -> Iterator[Finding]:
    """The declaration loads, and agrees with the retention rules, the cookies seen and — run through an
    integration (``facade``), whose code registers them — the rights sources."""
    if sp.settings.declaration.file is None:
        yield Finding("declaration", "ok", "none (optional: a declaration generates the privacy notice, the record "
                                           "of processing and the cookie table; docs/declaration.md)")
        return
    finding, ok = _safe("declaration", lambda: f"version {sp.declaration.require().version} "
                                               f"({sp.declaration.digest[:12]})")
    if not ok:
        for line in finding.message.splitlines():
            yield Finding("declaration", "problem", line)
        return
    drift = sp.declaration.drift(sources=facade().rights.sources() if facade is not None else None)
    yield Finding("declaration", "warning" if drift else "ok",
                  finding.message + (f"; {len(drift)} drift(s)" if drift else "; no drift"))
    for item in drift:
        yield Finding("declaration", "warning", item.message)
