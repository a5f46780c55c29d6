"""The documents generated from a declaration: the privacy notice (Markdown + HTML fragment), the record of
processing (CSV + HTML) and the cookie table. Each carries the declaration's version and digest."""

from __future__ import annotations

import csv
import hashlib
import io
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..retention.rules import Rule
from .blocks import Block, Bullets, Heading, Para, Table, html, markdown
from .model import DataCategory, Declaration
from .texts import Words

#: Placeholders a shop's own notice template (Markdown, ``string.Template``) may use: each is a section.
SECTIONS = ("who", "purposes", "retention", "recipients", "cookies", "rights", "version")


@dataclass(frozen=True)
class Document:
    """A generated document: its ``kind``, ``locale``, the declaration ``version`` and ``declaration_digest`` it
    came from, its formats (``markdown``, ``html``, ``csv``: whichever apply) and the ``digest`` of its text."""

    kind: str
    locale: str
    version: str
    declaration_digest: str
    html: str
    markdown: str = ""
    csv: str = ""

    @property
    def digest(self) -> str:
        return hashlib.sha256((self.markdown + self.html + self.csv).encode()).hexdigest()


class Generator:
    """Builds the documents of one declaration. ``rules``: the retention rules the declaration refers to."""

    def __init__(self, declaration: Declaration, declaration_digest: str, *, rules: Sequence[Rule] = (),
                 portal_url: str = "", notice_template: str | None = None) -> None:
        self.decl, self.decl_digest = declaration, declaration_digest
        self.rules = {r.name: r for r in rules}
        self.portal_url, self.template = portal_url, notice_template

    # -- sections ------------------------------------------------------------------------------------------
    def _who(self, w: Words) -> list[Block]:
        c = self.decl.controller
        out: list[Block] = [Heading(w("who_title")), Para(w("who_text", name=c.name, address=c.address,
                                                            email=c.email))]
        if c.dpo_email:
            out.append(Para(w("dpo_text", email=c.dpo_email)))
        return out

    def _data_names(self, w: Words, ids: Sequence[str]) -> str:
        return ", ".join(w.pick(self.decl.data[i].name) for i in ids)

    def _basis(self, w: Words, pid: str) -> str:
        p = self.decl.purposes[pid]
        return w(f"basis_{p.legal_basis}", interest=w.pick(p.interest))

    def _purposes(self, w: Words) -> list[Block]:
        rows = tuple((w.pick(p.name), self._data_names(w, p.data), self._basis(w, pid))
                     for pid, p in self.decl.purposes.items())
        return [Heading(w("purposes_title")), Table((w("col_purpose"), w("col_data"), w("col_basis")), rows)]

    def kept_for(self, w: Words, data: DataCategory) -> str:
        if data.keep_for is not None:
            after = w.pick(data.after)
            period = w.period(data.keep_for)
            return w("kept_after", period=period, after=after) if after else period
        spans = [self.rules[r].keep_for for r in data.retention if r in self.rules]
        if spans:
            return w("kept_rules", period=w.period(max(spans)))
        return w("kept_unknown")

    def _retention(self, w: Words) -> list[Block]:
        rows = tuple((w.pick(d.name), self.kept_for(w, d)) for d in self.decl.data.values())
        return [Heading(w("retention_title")), Table((w("col_data"), w("col_kept")), rows)]

    def _safeguard(self, w: Words, name: str) -> str:
        proc = self.decl.processors[name]
        if proc.transfer is None:
            return w("transfer_eea") if not proc.needs_transfer_mechanism else w("transfer_missing")
        return w(f"transfer_{proc.transfer}")

    def _recipients(self, w: Words) -> list[Block]:
        if not self.decl.processors:
            return [Heading(w("recipients_title")), Para(w("no_recipients"))]
        rows = tuple((p.name, p.country, ", ".join(w.pick(self.decl.purposes[i].name) for i in p.purposes),
                      self._safeguard(w, name)) for name, p in self.decl.processors.items())
        return [Heading(w("recipients_title")),
                Table((w("col_recipient"), w("col_country"), w("col_purpose"), w("col_safeguard")), rows)]

    def cookie_rows(self, w: Words) -> tuple[tuple[str, ...], ...]:
        return tuple((c.name, w(f"cat_{c.category}"), c.provider, c.lifetime, w.pick(c.purpose))
                     for c in self.decl.cookies)

    def _cookies(self, w: Words) -> list[Block]:
        if not self.decl.cookies:
            return []
        headers = (w("col_cookie"), w("col_category"), w("col_provider"), w("col_lifetime"), w("col_purpose"))
        return [Heading(w("cookies_title")), Para(w("cookies_text")), Table(headers, self.cookie_rows(w))]

    def _rights(self, w: Words) -> list[Block]:
        out: list[Block] = [Heading(w("rights_title")), Para(w("rights_text"))]
        if self.portal_url:
            out.append(Para(w("rights_portal", url=self.portal_url)))
        complaint = w("complaint_text")
        if self.decl.controller.authority:
            complaint += " " + w("authority_text", authority=self.decl.controller.authority)
        out.append(Para(complaint))
        return out

    def _version(self, w: Words) -> list[Block]:
        return [Para(w("version_text", version=self.decl.version, digest=self.decl_digest[:12]))]

    # -- documents -----------------------------------------------------------------------------------------
    def notice(self, locale: str | None = None) -> Document:
        """The privacy notice (GDPR Art. 13) as Markdown and as an HTML fragment."""
        w = Words(locale)
        sections: dict[str, list[Block]] = {
            "who": self._who(w), "purposes": self._purposes(w), "retention": self._retention(w),
            "recipients": self._recipients(w), "cookies": self._cookies(w), "rights": self._rights(w),
            "version": self._version(w)}
        blocks: list[Block] = [Heading(w("notice_title"), level=1)]
        if self.template is None:
            for name in SECTIONS:
                blocks += sections[name]
            md, page = markdown(blocks), html(blocks)
        else:
            md = _fill(self.template, {k: markdown(v) for k, v in sections.items()})
            page = _fill_html(self.template, sections)
        return Document("notice", w.locale, self.decl.version, self.decl_digest, page, md)

    def cookie_table(self, locale: str | None = None) -> Document:
        """The cookie table (for the cookie policy page and the banner's Customize panel)."""
        w = Words(locale)
        blocks = self._cookies(w)
        return Document("cookies", w.locale, self.decl.version, self.decl_digest, html(blocks), markdown(blocks))

    def record(self, locale: str | None = None) -> Document:
        """The record of processing activities (GDPR Art. 30(1)): one row per purpose, as CSV and HTML."""
        w = Words(locale)
        c = self.decl.controller
        controller = f"{c.name}, {c.address}, {c.email}" + (f", DPO {c.dpo_email}" if c.dpo_email else "")
        headers = (w("col_purpose"), w("col_basis"), w("col_subjects"), w("col_data"), w("col_fields"),
                   w("col_stored"), w("col_recipients"), w("col_transfers"), w("col_retention"))
        rows = []
        for pid, p in self.decl.purposes.items():
            procs = [(n, x) for n, x in self.decl.processors.items() if pid in x.purposes]
            transfers = [f"{x.name} ({x.country}): {self._safeguard(w, n)}" for n, x in procs
                         if x.needs_transfer_mechanism]
            rows.append((w.pick(p.name), self._basis(w, pid), w("subjects_customers"), self._data_names(w, p.data),
                         "; ".join(f for d in p.data for f in self.decl.data[d].fields),
                         ", ".join(sorted({w(f"stored_{self.decl.data[d].stored_in}") for d in p.data})),
                         ", ".join(x.name for _, x in procs) or w("none"), "; ".join(transfers) or w("none"),
                         "; ".join(f"{w.pick(self.decl.data[d].name)}: {self.kept_for(w, self.decl.data[d])}"
                                   for d in p.data)))
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow([_cell(h) for h in (w("col_controller"), *headers)])
        for row in rows:
            out.writerow([_cell(v) for v in (controller, *row)])
        blocks: list[Block] = [Heading(w("record_title"), level=1), Bullets((f"{w('col_controller')}: {controller}",)),
                               Table(headers, tuple(rows)), *self._version(w)]
        return Document("record", w.locale, self.decl.version, self.decl_digest, html(blocks), markdown(blocks),
                        buf.getvalue())


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _fill(template: str, sections: Mapping[str, str]) -> str:
    try:
        return string.Template(template).substitute(sections)
    except (KeyError, ValueError) as exc:
        from .loader import DeclarationError

        raise DeclarationError(f"the notice template uses an unknown placeholder {exc}; use "
                               + ", ".join(f"${s}" for s in SECTIONS)) from None


def _fill_html(template: str, sections: Mapping[str, list[Block]]) -> str:
    """The shop's Markdown template as HTML: its own lines as paragraphs/headings, the sections as blocks."""
    out: list[Block] = []
    for raw in template.split("\n\n"):
        text = raw.strip()
        if not text:
            continue
        if text.startswith("$") and text[1:].strip("{}") in sections:
            out += sections[text[1:].strip("{}")]
        elif text.startswith("#"):
            level = len(text) - len(text.lstrip("#"))
            out.append(Heading(text.lstrip("#").strip(), level=min(level, 6)))
        else:
            out.append(Para(_fill(text, {k: "" for k in sections})))
    return html(out)
