"""Documents as a few kinds of blocks, rendered to Markdown or to an HTML fragment (every text escaped)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


Block = Heading | Para | Table | Bullets


def _md_cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _md_text(text: str) -> str:
    """Text that Markdown shows as written (no accidental emphasis, links or HTML)."""
    out = text
    for ch in ("\\", "`", "*", "_", "[", "]", "<", ">", "#"):
        out = out.replace(ch, "\\" + ch)
    return out


def markdown(blocks: Sequence[Block]) -> str:
    parts: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            parts.append("#" * b.level + " " + _md_text(b.text))
        elif isinstance(b, Para):
            parts.append(_md_text(b.text))
        elif isinstance(b, Bullets):
            parts.append("\n".join("- " + _md_text(i) for i in b.items))
        else:
            head = "| " + " | ".join(_md_cell(_md_text(h)) for h in b.headers) + " |"
            rule = "|" + "|".join("---" for _ in b.headers) + "|"
            rows = ["| " + " | ".join(_md_cell(_md_text(c)) for c in row) + " |" for row in b.rows]
            parts.append("\n".join([head, rule, *rows]))
    return "\n\n".join(parts) + "\n"


def html(blocks: Sequence[Block]) -> str:
    parts: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            parts.append(f"<p>{escape(b.text)}</p>")
        elif isinstance(b, Bullets):
            parts.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in b.items) + "</ul>")
        else:
            head = "".join(f'<th scope="col">{escape(h)}</th>' for h in b.headers)
            rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return "\n".join(parts) + "\n"
