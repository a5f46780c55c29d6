"""docs/troubleshooting.md answers every message a user can meet while setting the SDK up: the catalogue is read
from the code itself — each configuration, keyset, store, schema, anchor and retention-rule error raised, each
database diagnosis, each problem ``doctor`` reports — so a new message cannot ship undocumented."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "troubleshooting.md"
SOURCES = [ROOT / "src" / "shopprivacy", ROOT / "adapters" / "shopify" / "src",
           ROOT / "adapters" / "woocommerce" / "src"]
#: The errors a user meets while setting up, and which argument holds the message.
SETUP_ERRORS = {"ConfigurationError": 0, "KeysetError": 0, "AdapterNotFound": 0, "DidNotEnable": 0,
                "RuleError": 1, "DatabaseUnavailable": 0, "SchemaVersionError": 0, "AuditAnchorError": 0}
#: Modules whose messages are composed line by line (diagnoses, option and settings problems, doctor findings).
COMPOSED = {"store/diagnose.py", "platforms/registry.py", "settings.py", "doctor.py"}
_MIN = 8
#: Variables the composed modules build a message line in.
_NAMES = {"message", "cause", "hint", "fix"}


def _fragments(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out, current = [], ""
        for value in node.values:
            if isinstance(value, ast.Constant):
                current += str(value.value)
            else:
                out.append(current)
                current = ""
        return [*out, current]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _fragments(node.left) + _fragments(node.right)
    return []


def phrase(node: ast.AST) -> str | None:
    """The longest literal run of a message: what a user would search the page for."""
    parts = [" ".join(f.split()).strip(" :;,.'\"()[]") for f in _fragments(node)]
    parts = [p for p in parts if len(p) >= _MIN]
    return max(parts, key=len) if parts else None


def _composed(tree: ast.AST) -> Iterator[ast.AST]:
    """Message text built in the composed modules: returned, appended, assigned to message/cause/hint/fix, or
    given to a problem or warning Finding."""
    for node in ast.walk(tree):
        returned = isinstance(node, ast.Return) and isinstance(node.value, (ast.JoinedStr, ast.Constant, ast.BinOp))
        assigned = isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in _NAMES
                                                        for t in node.targets)
        if returned or assigned:
            yield node.value  # type: ignore[union-attr]
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name == "append" and node.args:
                yield node.args[0]
            if name == "Finding" and len(node.args) == 3 and isinstance(node.args[1], ast.Constant) \
                    and node.args[1].value in ("problem", "warning"):
                yield node.args[2]


def catalogue() -> dict[str, str]:
    """Every setup message's phrase, with where it is raised."""
    found: dict[str, str] = {}
    for root in SOURCES:
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            where = f"{path.relative_to(ROOT)}"
            nodes: list[ast.AST] = []
            for node in ast.walk(tree):
                if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                    func = node.exc.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                    index = SETUP_ERRORS.get(name)
                    if index is not None and len(node.exc.args) > index:
                        nodes.append(node.exc.args[index])
            if path.name in ("settings.py", "options.py", "outbox_settings.py"):  # a setting's validators
                nodes.extend(node.exc.args[0] for node in ast.walk(tree) if isinstance(node, ast.Raise)
                             and isinstance(node.exc, ast.Call) and getattr(node.exc.func, "id", "") == "ValueError"
                             and node.exc.args)
            if path.relative_to(root).as_posix().removeprefix("shopprivacy/") in COMPOSED and root == SOURCES[0]:
                nodes.extend(_composed(tree))
            for node in nodes:
                text = phrase(node)
                if text is not None:
                    found.setdefault(text, f"{where}:{getattr(node, 'lineno', '?')}")
    return found


def _normal(text: str) -> str:
    return " ".join(text.replace("\\", "").split()).lower()


def test_the_catalogue_is_read_from_the_code():
    found = catalogue()
    assert len(found) > 80
    assert "is not a known setting" in found and "create it (mkdir -p" in found
    assert "is not an option of the" in found and "the database has no shopprivacy schema yet" in " ".join(found)


@pytest.mark.parametrize(("text", "where"), sorted(catalogue().items()))
def test_every_message_is_in_the_troubleshooting_page(text, where):
    assert _normal(text) in _normal(DOC.read_text(encoding="utf-8")), f"{where}: add {text!r} to {DOC.name}"


def test_every_system_check_id_is_explained():
    page = DOC.read_text(encoding="utf-8")
    checks = (ROOT / "src/shopprivacy/integrations/django/checks.py").read_text(encoding="utf-8")
    for code in re.findall(r'"([EW]\d{3})"', checks):
        assert f"shopprivacy.{code}" in page
