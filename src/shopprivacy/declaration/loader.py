"""Reading the declaration file (TOML) into a validated :class:`Declaration`, with one-line errors."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ConfigurationError
from ..hints import closest
from .model import Declaration

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 installs tomli through a marker dependency
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]


class DeclarationError(ConfigurationError):
    """The declaration file is malformed; each line names the place (``data.contact.fields``) and the fix."""


def _model_at(path: list[str]) -> type[BaseModel] | None:
    """The model that holds the last part of ``path`` (for "did you mean")."""
    from typing import get_args, get_origin

    model: type[BaseModel] = Declaration
    parts = list(path[:-1])
    while parts:
        part = parts.pop(0)
        info = model.model_fields.get(part)
        if info is None:
            return None
        ann = info.annotation
        if get_origin(ann) is dict:
            parts = parts[1:]
            ann = get_args(ann)[1]
        elif get_origin(ann) is tuple:
            parts = [p for p in parts[1:]] if parts and parts[0].isdigit() else parts
            ann = get_args(ann)[0]
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model = ann
    return model


def parse_declaration(text: str, *, source: str = "declaration") -> Declaration:
    """A declaration from TOML text; every problem raises :class:`DeclarationError`, one line each."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeclarationError(f"{source}: not valid TOML ({exc})") from None
    return build_declaration(doc, source=source)


def build_declaration(doc: Mapping[str, Any], *, source: str = "declaration") -> Declaration:
    try:
        return Declaration.model_validate(dict(doc))
    except ValidationError as exc:
        lines: list[str] = []
        for err in exc.errors():
            path = [str(p) for p in err["loc"] if not str(p).startswith(("function-", "json-or-python"))]
            where = ".".join(path) or "(top level)"
            if err["type"] == "extra_forbidden":
                model = _model_at(path)
                near = closest(path[-1], list(model.model_fields)) if model is not None else None
                hint = f"; did you mean {near!r}?" if near else ""
                line = f"{source}: {where} is not a known key{hint}"
            elif err["type"] == "missing":
                line = f"{source}: {where} is missing"
            elif err["type"] == "literal_error":
                allowed = re.findall(r"'([^']+)'", str(err.get("ctx", {}).get("expected", "")))
                near = closest(str(err.get("input", "")), allowed)
                hint = f"; did you mean {near!r}?" if near else ""
                line = f"{source}: {where} must be one of {', '.join(allowed)}{hint}"
            else:
                msg = str(err["msg"]).removeprefix("Value error, ")
                line = f"{source}: {msg}" if not path else f"{source}: {where}: {msg}"
            if line not in lines:
                lines.append(line)
        raise DeclarationError("\n".join(lines)) from None


def load_declaration(path: str | Path) -> Declaration:
    """The declaration in the TOML file at ``path``."""
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeclarationError(f"cannot read the declaration file {target.name}: {exc.strerror}; set "
                               "SHOPPRIVACY_DECLARATION_FILE to the path of your declaration TOML") from None
    return parse_declaration(text, source=target.name)


def digest(declaration: Declaration) -> str:
    """SHA-256 of the declaration's canonical JSON: the exact version documents are generated from."""
    text = json.dumps(declaration.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
