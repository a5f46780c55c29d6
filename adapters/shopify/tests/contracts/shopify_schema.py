"""Shopify's published Admin API schema (graphql-core), and a fake Shopify that answers from it.

:class:`AdminSchema` validates documents with graphql-core's rules plus ``NoDeprecatedCustomRule`` (a field
Shopify deprecated is a finding, not a warning). Shopify's introspection itself breaks one of graphql-core's
schema rules (an implementation field deprecated where the interface field is not), which graphql-core's
``validate`` and ``execute`` refuse: documents are validated by the same rules run directly, and execution
uses a copy of the schema with those few implementation fields undeprecated (deprecation does not change what
executing returns). :meth:`AdminSchema.load` checks that this is the schema's only complaint.

:class:`SchemaShopify` is a ``responses`` callback: every request the adapter sends is validated, its
variables coerced to the schema's input types, and the document *executed* against the schema over the
test's data (written with the schema's field names). So each answer has exactly the shape Shopify gives that
document, aliases and union members included, and the adapter's parsing is tested against it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import requests
from graphql import (
    GraphQLEnumType,
    GraphQLSchema,
    ParallelVisitor,
    TypeInfo,
    TypeInfoVisitor,
    build_client_schema,
    execute,
    parse,
    specified_rules,
    validate_schema,
    visit,
)
from graphql.error import GraphQLError
from graphql.validation import NoDeprecatedCustomRule, ValidationContext
from shopify_npm import npm_root, schema_file

RULES = (*specified_rules, NoDeprecatedCustomRule)
#: The one kind of complaint graphql-core has about Shopify's published schemas themselves.
_SCHEMA_QUIRK = "must not be deprecated"


class AdminSchema:
    """One Admin API version's schema."""

    def __init__(self, version: str, schema: GraphQLSchema, executable: GraphQLSchema) -> None:
        self.version = version
        self.schema = schema
        self.executable = executable

    @classmethod
    def load(cls, version: str, path: Path) -> AdminSchema:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            introspection = json.load(fh)["data"]
        schema = build_client_schema(introspection)
        other = [e.message for e in validate_schema(schema) if _SCHEMA_QUIRK not in e.message]
        assert not other, f"Shopify's {version} schema has unexpected problems: {other[:3]}"
        executable = build_client_schema(_undeprecate_implementations(introspection))
        assert validate_schema(executable) == []
        return cls(version, schema, executable)

    def problems(self, document: str) -> list[str]:
        """graphql-core's findings for ``document`` (empty when it is valid and uses nothing deprecated)."""
        try:
            ast = parse(document)
        except GraphQLError as exc:
            return [exc.message]
        errors: list[GraphQLError] = []
        info = TypeInfo(self.schema)
        context = ValidationContext(self.schema, ast, info, errors.append)
        visit(ast, TypeInfoVisitor(info, ParallelVisitor([rule(context) for rule in RULES])))
        return [e.message for e in errors]

    def enum_values(self, name: str) -> list[str]:
        enum = self.schema.get_type(name)
        assert isinstance(enum, GraphQLEnumType), name
        return list(enum.values)

    def webhook_topics(self) -> list[str]:
        """Every ``WebhookSubscriptionTopic`` as Shopify writes it in ``X-Shopify-Topic`` (``orders/create``,
        ``customer.tags_added``): each value's description names it ("The webhook topic for `orders/create`
        events")."""
        enum = self.schema.get_type("WebhookSubscriptionTopic")
        assert isinstance(enum, GraphQLEnumType)
        topics = []
        for name, value in enum.values.items():
            text = value.description or ""
            start = text.index("`") + 1
            topic = text[start:text.index("`", start)]
            assert topic.upper().replace("/", "_").replace(".", "_") == name, (name, topic)
            topics.append(topic)
        return topics

    def run(self, document: str, variables: Mapping[str, Any], root: Mapping[str, Any]) -> dict[str, Any]:
        """Validate, coerce the variables and execute; AssertionError naming every problem."""
        problems = self.problems(document)
        assert not problems, f"invalid against Admin API {self.version}: {problems}"
        result = execute(self.executable, parse(document), root_value=root, variable_values=dict(variables))
        assert not isinstance(result, Mapping)  # synchronous execution
        errors = [e.message for e in result.errors or ()]
        assert not errors, f"{self.version}: {errors}"
        return dict(result.data or {})


def _undeprecate_implementations(introspection: dict[str, Any]) -> dict[str, Any]:
    """The introspection with implementation fields undeprecated where their interface's field is not."""
    types = {t["name"]: t for t in introspection["__schema"]["types"]}
    live = {(t["name"], f["name"]) for t in types.values() if t["kind"] == "INTERFACE"
            for f in t.get("fields") or () if not f.get("isDeprecated")}
    for t in types.values():
        for field in t.get("fields") or ():
            if field.get("isDeprecated") and any((i["name"], field["name"]) in live for i in t.get("interfaces") or ()):
                field["isDeprecated"], field["deprecationReason"] = False, None
    return introspection


@cache
def load_admin_schema(version: str) -> AdminSchema:
    """The Admin API schema of ``version`` from ``@shopify/dev-mcp``, built once per test run."""
    return AdminSchema.load(version, schema_file(npm_root(), version))


Root = Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]]


class SchemaShopify:
    """A ``responses`` callback answering each operation by executing it over ``roots[operation]``."""

    def __init__(self, schema: AdminSchema) -> None:
        self.schema = schema
        self.roots: dict[str, Root] = {}
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def on(self, operation: str, root: Root) -> SchemaShopify:
        self.roots[operation] = root
        return self

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body or b"{}")
        document, variables = body["query"], dict(body.get("variables") or {})
        operation = parse(document).definitions[0].name  # type: ignore[attr-defined]
        name = operation.value if operation else "anonymous"
        self.sent.append((name, document, variables))
        root = self.roots[name]
        data = self.schema.run(document, variables, root(variables) if callable(root) else root)
        cost = {"requestedQueryCost": 10, "actualQueryCost": 10,
                "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}
        return 200, {}, json.dumps({"data": data, "extensions": {"cost": cost}})
