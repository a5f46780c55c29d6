"""The portal's module: where it lives, what it takes, and the deprecated old import path."""

import ast
import importlib
import sys
from pathlib import Path

import pytest

import shopprivacy.rights
from shopprivacy.rights.pages import RightsPages

RIGHTS = Path(shopprivacy.rights.__file__).parent


def test_the_old_import_path_warns_and_gives_the_same_class():
    sys.modules.pop("shopprivacy.web.rights_pages", None)
    with pytest.warns(DeprecationWarning, match="shopprivacy.rights.pages"):
        old = importlib.import_module("shopprivacy.web.rights_pages")
    assert old.RightsPages is RightsPages


def test_the_facade_builds_the_pages_from_rights_and_consent(rsp):
    pages = rsp.rights_web
    assert isinstance(pages, RightsPages) and pages.rights is rsp.rights and pages.consent is rsp.consent
    assert not hasattr(pages, "sp")


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "")
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


@pytest.mark.parametrize("path", sorted(RIGHTS.glob("*.py")), ids=lambda p: p.name)
def test_rights_modules_import_neither_the_facade_nor_the_web_kit(path):
    found = set(_imports(path))
    assert not {m for m in found if m in ("..app", "shopprivacy.app", "..", "shopprivacy")}
    if path.name != "pages.py":  # only the pages use the web kit
        assert not {m for m in found if m.startswith(("..web", "shopprivacy.web"))}
