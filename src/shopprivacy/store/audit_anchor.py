"""The anchor: copies of the sealed audit head kept outside the database.

Each anchor is one JSON line::

    {"v":1,"at":"2026-11-24T12:00:00.000000Z","last_seq":42,"last_mac":"…","base_seq":0,"base_mac":"…",
     "entries":42,"key_id":"k7q2mx","seal":"…"}

They go to an append-only file (``Settings.audit.anchor_path``, mode 0600, fsynced) and to the logger
``shopprivacy.audit.anchor``, which the shop ships to its log store. ``audit verify`` compares the chain with
the latest anchor: an attacker who can write the database but not the anchor cannot cut anchored entries off.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import AuditAnchorError
from .audit_seal import AuditHead, at_text

try:  # POSIX: serialise writers of one anchor file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("shopprivacy.audit.anchor")

ANCHOR_VERSION = 1
#: Bytes read from the end of an anchor file to find its last line (a line is about 400 bytes).
TAIL_BYTES = 8192
_MAC = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[a-z0-9]{1,12}")
_FIELDS = ("v", "at", "last_seq", "last_mac", "base_seq", "base_mac", "entries", "key_id", "seal")
_MAX_SEQ = 2**63 - 1


@dataclass(frozen=True)
class Anchor:
    """A sealed head as it was kept outside the database at ``at``."""

    head: AuditHead
    at: datetime

    def describe(self) -> str:
        return f"the anchor of {at_text(self.at)[:19]}Z"


def anchor_line(head: AuditHead, at: datetime) -> str:
    """The JSON line (without newline) anchoring ``head``, which must be sealed."""
    if head.seal is None or head.key_id is None:
        raise ValueError("only a sealed head can be anchored")
    return json.dumps({"v": ANCHOR_VERSION, "at": at_text(at), "last_seq": head.last_seq, "last_mac": head.last_mac,
                       "base_seq": head.base_seq, "base_mac": head.base_mac, "entries": head.entries,
                       "key_id": head.key_id, "seal": head.seal}, separators=(",", ":"))


def log_anchor(head: AuditHead, at: datetime) -> None:
    """Write the anchor line on the ``shopprivacy.audit.anchor`` logger (INFO), for the shop's log store."""
    line = anchor_line(head, at)
    log.info("audit head %s", line, extra={"audit_anchor": json.loads(line)})


def parse_anchor(text: str, *, source: str = "the audit anchor") -> Anchor:
    """The anchor in ``text``: an anchor line, a log line holding one, or a JSON log record with the anchor under
    ``audit_anchor``. Raises :class:`AuditAnchorError` naming what is wrong; never anything else."""
    start = text.find("{")
    if start < 0:
        raise AuditAnchorError(f"{source} is garbled: no anchor record (a JSON object) in its last line")
    try:
        doc, _ = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):
        raise AuditAnchorError(f"{source} is garbled: its last line is not a complete JSON record") from None
    if isinstance(doc, dict) and "v" not in doc and isinstance(doc.get("audit_anchor"), dict):
        doc = doc["audit_anchor"]  # a structured log record: the anchor is the record's extra field
    if not isinstance(doc, dict) or set(doc) != set(_FIELDS):
        raise AuditAnchorError(f"{source} is garbled: an anchor record has exactly the keys {', '.join(_FIELDS)}")
    if _int(doc["v"]) != ANCHOR_VERSION:
        raise AuditAnchorError(f"{source} has anchor version {doc['v']!r}; this shopprivacy reads version 1")
    last_seq, base_seq, entries = _int(doc["last_seq"]), _int(doc["base_seq"]), _int(doc["entries"])
    if last_seq is None or base_seq is None or entries is None or not 0 <= base_seq <= last_seq \
            or entries != last_seq - base_seq:
        raise AuditAnchorError(f"{source} is garbled: last_seq, base_seq and entries must be whole numbers with "
                               "0 <= base_seq <= last_seq and entries = last_seq - base_seq")
    for name in ("last_mac", "base_mac", "seal"):
        if not isinstance(doc[name], str) or not _MAC.fullmatch(doc[name]):
            raise AuditAnchorError(f"{source} is garbled: {name} must be 64 lowercase hex digits")
    if not isinstance(doc["key_id"], str) or not _KEY_ID.fullmatch(doc["key_id"]):
        raise AuditAnchorError(f"{source} is garbled: key_id must be 1-12 characters of a-z and 0-9")
    try:
        at = datetime.strptime(doc["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        raise AuditAnchorError(f"{source} is garbled: at must be a UTC time like 2026-11-24T12:00:00.000000Z") from None
    head = AuditHead(last_seq, doc["last_mac"], base_seq, doc["base_mac"], doc["key_id"], doc["seal"])
    return Anchor(head, at)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_SEQ else None


def _tail(fd: int) -> tuple[bytes, bool]:
    """The last :data:`TAIL_BYTES` of a file, or of a pipe read to its end (``--anchor <(grep …)``), and
    whether that cuts off the start."""
    info = os.fstat(fd)
    if stat.S_ISREG(info.st_mode):
        start = max(0, info.st_size - TAIL_BYTES)
        return os.pread(fd, info.st_size - start, start), start > 0
    kept, cut = b"", False
    while chunk := os.read(fd, 65536):
        kept += chunk
        if len(kept) > TAIL_BYTES:
            kept, cut = kept[-TAIL_BYTES:], True
    return kept, cut


def _last_line(data: bytes, *, partial_start: bool, source: str) -> str | None:
    """The last complete line of ``data`` (the end of a file); ``None`` when it holds none."""
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a line whose write was interrupted
    if partial_start and lines:
        lines.pop(0)
    for raw in reversed(lines):
        if raw.strip():
            try:
                return raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise AuditAnchorError(f"{source} is garbled: its last line is not UTF-8 text") from None
    if partial_start:
        raise AuditAnchorError(f"{source} is garbled: no complete line in its last {TAIL_BYTES} bytes")
    return None


class AnchorFile:
    """An append-only file of anchor lines, private to the shop's user (mode 0600). The latest line counts."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"AnchorFile({os.fspath(self.path)!r})"

    @property
    def source(self) -> str:
        return f"the audit anchor {os.fspath(self.path)}"

    def latest(self, *, required: bool = False) -> Anchor | None:
        """The newest anchor in the file; ``None`` when the file is missing or empty (unless ``required``)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            if required:
                raise AuditAnchorError(f"{self.source} does not exist") from None
            return None
        except OSError as exc:
            raise AuditAnchorError(f"cannot read {self.source}: {exc.strerror}") from None
        try:
            return self._latest(fd, required=required)
        finally:
            os.close(fd)

    def _latest(self, fd: int, *, required: bool) -> Anchor | None:
        try:
            data, partial_start = _tail(fd)
        except OSError as exc:
            raise AuditAnchorError(f"cannot read {self.source}: {exc.strerror}") from None
        line = _last_line(data, partial_start=partial_start, source=self.source)
        if line is None:
            if required:
                raise AuditAnchorError(f"{self.source} holds no anchor yet")
            return None
        return parse_anchor(line, source=self.source)

    @contextmanager
    def writer(self) -> Iterator[AnchorWriter]:
        """The file opened for appending (created 0600), locked against other writers until the block ends."""
        created = not self.path.exists()
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except FileNotFoundError:
            raise AuditAnchorError(f"the directory of {self.source} does not exist: create it, on a disk or host "
                                   "the database's users cannot write") from None
        except OSError as exc:
            raise AuditAnchorError(f"cannot open {self.source} for writing: {exc.strerror}") from None
        try:
            mode = os.fstat(fd).st_mode & 0o777
            if os.name == "posix" and mode & 0o077:
                raise AuditAnchorError(f"{self.source} has mode {mode:04o}; other users must not read or write "
                                       f"it: chmod 600 {os.fspath(self.path)}")
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            if created:
                _fsync_dir(self.path.parent)
            yield AnchorWriter(self, fd)
        finally:
            os.close(fd)


class AnchorWriter:
    """Reads the latest anchor and appends new ones while :meth:`AnchorFile.writer` holds the file."""

    def __init__(self, file: AnchorFile, fd: int) -> None:
        self.file = file
        self.fd = fd

    def latest(self) -> Anchor | None:
        return self.file._latest(self.fd, required=False)

    def append(self, head: AuditHead, at: datetime) -> None:
        """Append the anchor of ``head`` as one write, then fsync."""
        data = (anchor_line(head, at) + "\n").encode()
        try:
            size = os.fstat(self.fd).st_size
            if size and os.pread(self.fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # end a line left unfinished by an interrupted write
            written = os.write(self.fd, data)
            if written != len(data):
                raise OSError(0, "short write (disk full?)")
            os.fsync(self.fd)
        except OSError as exc:
            raise AuditAnchorError(f"cannot write {self.file.source}: {exc.strerror}") from None


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
