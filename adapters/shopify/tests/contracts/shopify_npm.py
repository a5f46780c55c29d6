"""Where Shopify's own npm packages are, for the contract tests (``tox -e contracts`` fetches them).

``SHOPPRIVACY_TEST_SHOPIFY_NPM`` names a folder holding ``node_modules/@shopify/shopify-api`` (installed with
npm) and ``dev-mcp/package/dist/data/admin_<version>.json.gz`` (the Admin API introspection files of
``@shopify/dev-mcp``, unpacked from ``npm pack``). Unset, the contract tests skip with this message; set but
incomplete, they fail: CI sets it, so CI never skips them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ENV = "SHOPPRIVACY_TEST_SHOPIFY_NPM"
SIGNER = Path(__file__).with_name("shopify_webhooks.cjs")
PROXY_VALIDATOR = Path(__file__).with_name("shopify_app_proxy.cjs")


def npm_root() -> Path:
    """The folder of the npm files; skips the calling module when the variable is unset."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        pytest.skip(f"{ENV} is not set: the Shopify contract tests need Shopify's npm packages "
                    "(run `tox -e contracts`, which fetches them)", allow_module_level=True)
    root = Path(value)
    missing = [str(p) for p in (node_modules(root) / "@shopify" / "shopify-api" / "package.json", schema_dir(root))
               if not p.exists()]
    if missing:
        pytest.fail(f"{ENV}={value} lacks {', '.join(missing)}: run `tox -e contracts` (it fetches both)",
                    pytrace=False)
    if shutil.which("node") is None:
        pytest.fail("node is not installed: the webhook contract runs Shopify's Node library (apt-get install nodejs)",
                    pytrace=False)
    return root


def node_modules(root: Path) -> Path:
    return root / "node_modules"


def schema_dir(root: Path) -> Path:
    return root / "dev-mcp" / "package" / "dist" / "data"


def schema_file(root: Path, version: str) -> Path:
    """The Admin API introspection file of ``version`` (gzipped JSON)."""
    return schema_dir(root) / f"admin_{version}.json.gz"


def run_node_signer(root: Path, secret: str, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sign and validate ``cases`` with ``@shopify/shopify-api`` in one node process (see the script)."""
    payload = json.dumps({"modules": str(node_modules(root)), "secret": secret, "cases": cases})
    done = subprocess.run(["node", str(SIGNER)], input=payload.encode(), capture_output=True, timeout=120,
                          check=False)
    if done.returncode != 0:
        raise AssertionError(f"the node signer failed: {done.stderr.decode(errors='replace')[-2000:]}")
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert len(results) == len(cases)
    return results


def run_node_proxy_validator(root: Path, secret: str, queries: list[str]) -> list[dict[str, Any]]:
    """``@shopify/shopify-api``'s app proxy verdict on each query string, in one node process (see the script)."""
    payload = json.dumps({"modules": str(node_modules(root)), "secret": secret, "queries": queries})
    done = subprocess.run(["node", str(PROXY_VALIDATOR)], input=payload.encode(), capture_output=True, timeout=120,
                          check=False)
    if done.returncode != 0:
        raise AssertionError(f"the node validator failed: {done.stderr.decode(errors='replace')[-2000:]}")
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert len(results) == len(queries)
    return results
