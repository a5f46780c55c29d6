"""Fixtures of the Shopify contract tests: Shopify's Admin API schemas, one per supported version.

Imports of graphql-core stay inside the fixtures: outside the ``contracts`` tox env the modules skip before
they need it (see ``shopify_npm``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from shopprivacy_shopify.options import SUPPORTED_API_VERSIONS

if TYPE_CHECKING:
    from shopify_schema import AdminSchema

@pytest.fixture(params=SUPPORTED_API_VERSIONS)
def admin(request: pytest.FixtureRequest) -> AdminSchema:
    """Each API version the adapter supports, in turn."""
    from shopify_schema import load_admin_schema

    return load_admin_schema(request.param)
