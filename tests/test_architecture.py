"""The layering of docs/architecture.md, checked on the source: every import of every module under
src/shopprivacy (module level, function-local and ``TYPE_CHECKING`` alike), read with ``ast``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "shopprivacy"

CAPABILITIES = ("breaches", "consent", "declaration", "email", "fields", "renewals", "retention", "rights", "sms")

#: Modules that build the facade (or are the facade): only these may import ``shopprivacy.app``, take
#: ``ShopPrivacy`` from the package face, or import another entry point.
ENTRY_POINTS = frozenset({"shopprivacy", "shopprivacy.__main__", "shopprivacy.app", "shopprivacy.cli",
                          "shopprivacy.doctor", "shopprivacy.demo", "shopprivacy.testing",
                          *(f"shopprivacy.{c}.cli" for c in CAPABILITIES)})
FACADE_MODULES = ENTRY_POINTS - {"shopprivacy"}

#: Old import paths kept as thin deprecated modules: each may import the module it moved to, nothing else of ours.
DEPRECATED_ALIASES = {
    "shopprivacy.web.consent_pages": "shopprivacy.consent.pages",
    "shopprivacy.web.email_pages": "shopprivacy.email.pages",
    "shopprivacy.web.rights_pages": "shopprivacy.rights.pages",
    "shopprivacy.fields.token": "shopprivacy.fields.ciphertext",
}

#: Third-party packages the core never imports (web frameworks, platform adapters, the adapters' HTTP client).
FORBIDDEN_IN_CORE = ("flask", "django", "werkzeug", "starlette", "fastapi", "shopprivacy_shopify",
                     "shopprivacy_woocommerce", "requests")

#: Which capability's modules may import which other capability (docs/architecture.md, "Who may call whom").
#: ``rights`` orchestrates erasure and export across the others; ``retention`` collects the others' default
#: rules and shreds through ``fields``; ``renewals`` places legal holds through ``retention``.
MAY_IMPORT = {
    "breaches": frozenset({"email", "fields", "rights"}),
    "consent": frozenset(),
    "declaration": frozenset({"consent", "email", "fields", "retention", "rights"}),
    "fields": frozenset(),
    "email": frozenset({"fields"}),
    "renewals": frozenset({"retention"}),
    "retention": frozenset({"consent", "email", "fields"}),
    "rights": frozenset({"consent", "email", "fields", "retention"}),
    "sms": frozenset({"email", "fields", "rights"}),
}

#: Imports from a capability that a shared module may make: pure functions with no state or store.
FOUNDATION_USES = frozenset({
    ("shopprivacy.limits", "shopprivacy.fields.blind_index"),  # limit keys normalise addresses as blind indexes do
})

#: Offences of modules that the e-mail and rights parts of the architecture step fix in parallel
#: (src/shopprivacy/email/, src/shopprivacy/rights/ and their pages), plus the page base's transitional
#: compatibility with pages still written against the facade. The lead empties this set at the merge;
#: ``test_known_offenders_are_still_offences`` fails for each entry that no longer offends, so it cannot go stale.
KNOWN_OFFENDERS: frozenset[tuple[str, str]] = frozenset()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _imports(name: str) -> Iterator[tuple[str, str | None]]:
    """``(module, imported name or None)`` for every import statement in module ``name``, anywhere in it."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    here = name if _is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                yield target, alias.name


def _targets(name: str) -> set[str]:
    """Every module ``name`` imports; ``from package import submodule`` counts as importing the submodule, and
    ``from shopprivacy import ShopPrivacy`` as importing ``shopprivacy.app``."""
    out: set[str] = set()
    for target, attr in _imports(name):
        out.add(target)
        if attr is not None and f"{target}.{attr}" in MODULES:
            out.add(f"{target}.{attr}")
        if target == "shopprivacy" and attr in ("ShopPrivacy", "RunDueReport"):
            out.add("shopprivacy.app")
    return out


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _capability(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in CAPABILITIES else None


def _is_entry_point(module: str) -> bool:
    return module in ENTRY_POINTS or _within(module, "shopprivacy.integrations")


def _is_foundation(module: str) -> bool:
    """The layer below the capabilities: the store, the platform plug-in point, the web kit and the small
    shared modules (keys, tokens, errors, i18n, ...). ``settings`` gathers each capability's settings model."""
    layer = module.split(".")[1] if "." in module else ""
    return (layer in ("store", "platforms", "web") or (module.count(".") == 1 and not layer.startswith("_")
            and layer not in CAPABILITIES and not _is_entry_point(module) and module != "shopprivacy.settings"))


def _has_lazy_face(name: str) -> bool:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    return any(isinstance(node, (ast.FunctionDef, ast.Assign)) and (
        getattr(node, "name", None) == "__getattr__"
        or any(isinstance(t, ast.Name) and t.id == "__getattr__" for t in getattr(node, "targets", ())))
        for node in tree.body)


def _is_deprecation_shim(name: str) -> bool:
    """A module that warns at import time that it moved (module-level ``warnings.warn``)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    return any(isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
               and ast.unparse(node.value.func) == "warnings.warn" for node in tree.body)


#: The vocabulary of retention rules: each capability's ``retention`` module contributes its default rules in it.
RULE_VOCABULARY = "shopprivacy.retention.rules"


@cache
def offences() -> frozenset[tuple[str, str]]:
    """``(module, what it should not import)`` for every breach of the layering."""
    found: set[tuple[str, str]] = set()
    for name in MODULES:
        if name in DEPRECATED_ALIASES and _is_deprecation_shim(name):
            ours = {t for t in _targets(name) if _within(t, "shopprivacy")}
            found |= {(name, t) for t in ours - {DEPRECATED_ALIASES[name], "shopprivacy"}}
            continue
        if _has_lazy_face(name):
            found.add((name, "lazy face"))
        for target in _targets(name):
            if target == "shopprivacy._lazy":
                found.add((name, target))
            if not _is_entry_point(name) and any(_within(target, m) for m in FACADE_MODULES):
                found.add((name, target))
            if not _within(name, "shopprivacy.integrations") and any(
                    _within(target, pkg) for pkg in FORBIDDEN_IN_CORE):
                found.add((name, target))
            if _within(name, "shopprivacy.web") and (_capability(target) or target == "shopprivacy.settings"):
                found.add((name, target))
            if (_within(target, "shopprivacy.web") and not _within(name, "shopprivacy.web")
                    and not _is_entry_point(name) and not name.endswith(".pages")
                    and name not in ("shopprivacy.settings",)):
                found.add((name, target))
            if _is_foundation(name) and _capability(target) and (name, target) not in FOUNDATION_USES:
                found.add((name, target))
            mine, theirs = _capability(name), _capability(target)
            if mine and theirs and mine != theirs and theirs not in MAY_IMPORT[mine] and not (
                    name == f"shopprivacy.{mine}.retention" and target == RULE_VOCABULARY):
                found.add((name, target))
    return frozenset(found)


def test_the_scan_sees_every_kind_of_import():
    assert "shopprivacy.fields.api" in _targets("shopprivacy.email.service")  # a TYPE_CHECKING import
    assert "shopprivacy.consent.service" in _targets("shopprivacy.app")  # a function-local import
    assert "shopprivacy.app" in _targets("shopprivacy.integrations.flask")  # ``from ..app import``
    assert "shopprivacy.errors" in _targets("shopprivacy.integrations")  # ``from ..errors import`` in a package
    assert "shopprivacy.consent.pages" in _targets("shopprivacy.web.consent_pages")
    assert _is_deprecation_shim("shopprivacy.web.consent_pages") and not _is_deprecation_shim("shopprivacy.web.pages")
    assert "flask" in _targets("shopprivacy.integrations.flask")


def test_the_layering_holds_apart_from_known_offenders():
    new = sorted(offences() - KNOWN_OFFENDERS)
    assert not new, "imports that break docs/architecture.md:\n" + "\n".join(f"  {m} -> {t}" for m, t in new)


def test_known_offenders_are_still_offences():
    stale = sorted(KNOWN_OFFENDERS - offences())
    assert not stale, f"{stale} no longer offend: remove them from KNOWN_OFFENDERS"


def test_no_capability_below_the_facade_names_it():
    """The part of the scan the issue names first: no capability, store, platform or web module imports the
    facade, directly or through the package face (known offenders aside)."""
    for name in MODULES:
        layer = name.split(".")[1] if "." in name else ""
        if layer in (*CAPABILITIES, "store", "platforms", "web") and not _is_entry_point(name):
            assert "shopprivacy.app" not in _targets(name) or (name, "shopprivacy.app") in KNOWN_OFFENDERS, name
