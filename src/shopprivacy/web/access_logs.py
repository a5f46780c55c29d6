"""Link tokens out of access logs.

Unsubscribe, preference and confirmation links carry their token in the query string (``?t=...``): a mail
client opens them as they are and RFC 8058 one-click POSTs the ``List-Unsubscribe`` URL as it is, so the token
cannot move. Servers log the request line, query string included. :class:`RedactLinkTokens` rewrites the ``t``
parameter's value to ``[redacted]`` in the records of the access loggers the SDK can reach in-process (the
Flask and Django integrations install it with :func:`install`); for servers outside the process (nginx,
Apache, a load balancer) use a log format without the query string (docs/operations.md).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

#: Loggers that write one line per request: werkzeug's dev server (``flask run``), Django's ``runserver``, the
#: ``django.request`` error records (their ``request`` goes to e.g. ``AdminEmailHandler``), gunicorn, uvicorn.
ACCESS_LOGGERS = ("werkzeug", "django.server", "django.request", "gunicorn.access", "uvicorn.access")
#: The query parameter that carries the SDK's link tokens.
TOKEN_PARAMETER = "t"  # noqa: S105 - a parameter name, not a secret
REDACTED = "[redacted]"
_TOKEN = re.compile(r"((?:^|[?&;])" + re.escape(TOKEN_PARAMETER) + r"=)[^&;#\s\"']+")


def redact(text: str) -> str:
    """``text`` with the value of every ``t=`` query parameter replaced by ``[redacted]``."""
    return _TOKEN.sub(r"\1" + REDACTED, text) if TOKEN_PARAMETER + "=" in text else text


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactLinkTokens(logging.Filter):
    """A logging filter that redacts link tokens in a record's message and arguments (a tuple, or gunicorn's
    mapping of atoms), and drops a Django request attached to the record when its query string holds one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redact_value(record.msg)
        args = record.args
        if isinstance(args, MutableMapping):  # gunicorn's atoms: a dict subclass that must keep its own type
            for key, value in list(args.items()):
                args[key] = _redact_value(value)
        elif isinstance(args, Mapping):
            record.args = {key: _redact_value(value) for key, value in args.items()}
        elif isinstance(args, tuple):
            record.args = tuple(_redact_value(a) for a in args)
        meta = getattr(getattr(record, "request", None), "META", None)
        if isinstance(meta, Mapping) and _TOKEN.search(str(meta.get("QUERY_STRING", ""))):
            record.request = None  # e.g. AdminEmailHandler would mail the full request, query string included
        return True


def install(loggers: Iterable[str] = ACCESS_LOGGERS) -> None:
    """Add :class:`RedactLinkTokens` to each named logger, once (safe to call again)."""
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactLinkTokens) for f in logger.filters):
            logger.addFilter(RedactLinkTokens())
