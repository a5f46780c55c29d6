"""The export archive: ``data.json`` (machine-readable, GDPR Art. 20) and ``report.html`` (readable, localized)
in one zip, encrypted at rest under a fresh data key that is itself wrapped by the subject's key
(``sp.fields`` with ``subject=``), so crypto-shredding the subject makes every copy unreadable."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import BadToken
from ..i18n import catalog, direction
from .model import RightsRequest

if TYPE_CHECKING:
    from ..fields.api import Fields

LOCALES = "shopprivacy.rights"
WRAP_CONTEXT = "sp_rights_exports.wrapped_key"
_AAD = b"shopprivacy-rights-export-v1\x00"
_NONCE = 12


def export_subject(request_id: str) -> str:
    """The ``sp.fields`` subject whose key wraps the archive of one export (shredded on erasure)."""
    return f"rights-export:{request_id}"


def build(request: RightsRequest, sections: Mapping[str, Any], *, generated_at: datetime) -> bytes:
    """The zip: ``data.json`` and ``report.html`` in the request's language."""
    doc = {"format": "shopprivacy-export/1", "request": {"id": request.id, "kind": request.kind,
                                                         "received_at": request.received_at.isoformat()},
           "generated_at": generated_at.isoformat(), "sources": dict(sections)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("data.json", json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False))
        zf.writestr("report.html", render(request, sections, generated_at=generated_at))
    return buf.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return escape(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")))
    return escape(str(value))


def _render_value(value: Any, depth: int = 0) -> str:
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        heads = list(dict.fromkeys(k for row in value for k in row))
        head = "".join(f'<th scope="col">{escape(str(h))}</th>' for h in heads)
        body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(h))}</td>" for h in heads) + "</tr>" for row in value)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(value, Mapping) and depth < 3:
        items = "".join(f"<dt>{escape(str(k))}</dt><dd>{_render_value(v, depth + 1)}</dd>" for k, v in value.items())
        return f"<dl>{items}</dl>"
    return _cell(value)


_STYLE = ("body{font:15px/1.5 system-ui,sans-serif;margin:2rem;color:#1a1a1a}table{border-collapse:collapse;"
          "margin:.5rem 0}th,td{border:1px solid #999;padding:.2rem .5rem;text-align:start;vertical-align:top}"
          "dt{font-weight:600}dd{margin:0 0 .5rem 1rem}")


def render(request: RightsRequest, sections: Mapping[str, Any], *, generated_at: datetime) -> str:
    """The readable report: one section per source, tables for rows, no script."""
    t = catalog(LOCALES, request.locale)
    parts = []
    for name, data in sections.items():
        body = _render_value(data) if data else f"<p>{escape(t['report_nothing'])}</p>"
        parts.append(f"<section><h2>{escape(name)}</h2>{body}</section>")
    if not parts:
        parts.append(f"<p>{escape(t['report_nothing_at_all'])}</p>")
    intro = t["report_intro"].format(received=request.received_at.date().isoformat(),
                                     generated=generated_at.date().isoformat())
    return (f'<!doctype html><html lang="{escape(request.locale)}" dir="{direction(request.locale)}"><head>'
            f'<meta charset="utf-8"><title>{escape(t["report_title"])}</title><style>{_STYLE}</style></head>'
            f'<body><h1>{escape(t["report_title"])}</h1><p>{escape(intro)}</p>'
            f'<p>{escape(t["report_machine"])}</p>{"".join(parts)}</body></html>')


def seal(fields: Fields, archive: bytes, *, request_id: str, key_subject: str) -> tuple[bytes, str]:
    """(``nonce || AES-256-GCM(archive)`` bound to the request id, the data key wrapped under the subject)."""
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE)
    sealed = nonce + AESGCM(key).encrypt(nonce, archive, _AAD + request_id.encode())
    wrapped = fields.encrypt(key, context=WRAP_CONTEXT, row=request_id, subject=key_subject)
    assert wrapped is not None
    return sealed, wrapped


def open_sealed(fields: Fields, sealed: bytes, wrapped: str, *, request_id: str) -> bytes:
    """The archive; ShreddedError once the subject's key is destroyed, BadToken if anything was altered."""
    key = fields.decrypt(wrapped, context=WRAP_CONTEXT, row=request_id)
    if not isinstance(key, bytes) or len(sealed) < _NONCE + 16:
        raise BadToken("the export archive is damaged")
    try:
        return AESGCM(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], _AAD + request_id.encode())
    except InvalidTag:
        raise BadToken("the export archive does not decrypt: altered, or copied from another request") from None
