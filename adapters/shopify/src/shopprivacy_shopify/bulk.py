"""Bulk operations: run a query as ``bulkOperationRunQuery``, poll it, download and re-link its JSONL.

Shopify writes nested connections as separate JSONL lines carrying ``__parentId``; a child always comes
*after* its parent, but not necessarily right after it. The file is therefore spooled to a temporary file
and read backwards: children are met before their parent, held by parent id, and handed over with the
parent — so memory holds only the children whose parent has not been read yet, never the whole file.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from .client import AdminClient
from .errors import ShopifyBulkError, ShopifyError, ShopifyResponseError

RUN = ("mutation BulkDueScan($query: String!) { bulkOperationRunQuery(query: $query) { "
       "bulkOperation { id status } userErrors { field message } } }")
POLL = ("query BulkOperationStatus($id: ID!) { node(id: $id) { ... on BulkOperation { "
        "id status errorCode objectCount url } } }")

_DONE_BAD = ("FAILED", "CANCELED", "CANCELING", "EXPIRED")


def reverse_lines(fh: IO[bytes], *, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """The lines of a binary file from last to first (without line ends)."""
    fh.seek(0, os.SEEK_END)
    pos = fh.tell()
    rest = b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        fh.seek(pos)
        block = fh.read(step) + rest
        parts = block.split(b"\n")
        rest = parts[0]
        for line in reversed(parts[1:]):
            if line.strip():
                yield line
    if rest.strip():
        yield rest


def link_children(lines: Iterator[bytes]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """``(parent, children)`` pairs from JSONL lines read backwards (see the module docstring)."""
    pending: dict[str, list[dict[str, Any]]] = {}
    for raw in lines:
        try:
            obj = json.loads(raw)
        except ValueError:
            raise ShopifyResponseError("a bulk result line is not JSON", operation="BulkDueScan") from None
        if not isinstance(obj, dict):
            continue
        parent = obj.pop("__parentId", None)
        if isinstance(parent, str):
            pending.setdefault(parent, []).append(obj)
            continue
        children = pending.pop(str(obj.get("id")), [])
        children.reverse()
        yield obj, children


class BulkQuery:
    """Runs one bulk query to completion and yields its root objects with their children."""

    def __init__(self, client: AdminClient, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, poll_every: float = 2.0,
                 max_poll_every: float = 30.0, timeout: float = 6 * 3600.0) -> None:
        self.client = client
        self.sleep = sleep
        self.clock = clock
        self.poll_every = poll_every
        self.max_poll_every = max_poll_every
        self.timeout = timeout

    def start(self, query: str) -> str:
        payload = self.client.mutate("BulkDueScan", RUN, {"query": query}, "bulkOperationRunQuery")
        op = payload.get("bulkOperation")
        if not isinstance(op, dict) or not isinstance(op.get("id"), str):
            raise ShopifyResponseError("no bulk operation id", operation="BulkDueScan")
        return str(op["id"])

    def wait(self, op_id: str) -> str | None:
        """Poll until the operation completes; its result URL (None when it found nothing)."""
        started, delay = self.clock(), self.poll_every
        while True:
            node = self.client.execute("BulkOperationStatus", POLL, {"id": op_id}).get("node")
            if not isinstance(node, dict) or not isinstance(node.get("status"), str):
                raise ShopifyResponseError("no bulk operation status", operation="BulkOperationStatus")
            status = node["status"]
            if status == "COMPLETED":
                url = node.get("url")
                return url if isinstance(url, str) and url else None
            if status in _DONE_BAD:
                code = node.get("errorCode")
                raise ShopifyBulkError(operation="BulkDueScan", status=status,
                                       error_code=code if isinstance(code, str) else None)
            if self.clock() - started > self.timeout:
                raise ShopifyError("bulk operation still running at the timeout", operation="BulkDueScan",
                                   retry_after=self.max_poll_every)
            self.sleep(delay)
            delay = min(delay * 1.5, self.max_poll_every)

    def run(self, query: str) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """Start, wait, download (spooled to a temporary file) and yield linked root objects."""
        url = self.wait(self.start(query))
        if url is None:
            return
        with tempfile.TemporaryFile() as spool:
            for line in self.client.download_lines(url, operation="BulkDueScan"):
                spool.write(line + b"\n")
            spool.flush()
            yield from link_children(reverse_lines(spool))


__all__ = ["BulkQuery", "link_children", "reverse_lines"]
