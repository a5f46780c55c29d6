"""Settings, validated once at start.

``Settings.from_env()`` reads ``SHOPPRIVACY_*`` environment variables: ``SHOPPRIVACY_DATABASE_URL`` sets
``database_url``; a double underscore reaches into a nested group (``SHOPPRIVACY_OUTBOX__MAX_ATTEMPTS``);
values of mappings and groups may also be given whole as JSON (``SHOPPRIVACY_PLATFORM_OPTIONS='{"shop": ...}'``).
Unknown ``SHOPPRIVACY_*`` variables are refused, so a typo does not silently fall back to a default
(``SHOPPRIVACY_TEST_*`` and ``SHOPPRIVACY_BENCH_*`` are reserved for the SDK's own tests and benchmarks).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator

from .consent.settings import ConsentSettings
from .declaration.settings import DeclarationSettings
from .email.settings import EmailSettings
from .errors import ConfigurationError, KeysetError
from .fields.settings import FieldsSettings
from .hints import closest, plain, printable
from .keys import Keyring, Keyset
from .retention.settings import RetentionSettings
from .rights.settings import RightsSettings
from .sms.settings import SmsSettings
from .store.journal import ErasureJournalSettings
from .store.outbox_settings import OutboxSettings as OutboxSettings
from .web.settings import WebSettings

ENV_PREFIX = "SHOPPRIVACY_"
#: Variables of the SDK's own test suite and benchmarks; never settings.
RESERVED_PREFIXES = ("SHOPPRIVACY_TEST_", "SHOPPRIVACY_BENCH_")


#: How a setting is named in messages: ``("outbox", "max_attempts")`` -> ``SHOPPRIVACY_OUTBOX__MAX_ATTEMPTS``.
Spelling = Callable[[Sequence[str]], str]
#: A JSON scalar, as platform options may be given (``{"timeout": 5, "allow_insecure_http": true}``).
OptionValue = str | int | float | bool


def env_spelling(path: Sequence[str]) -> str:
    """The environment variable of the setting at ``path``."""
    return ENV_PREFIX + "__".join(p.upper() for p in path)


def _siblings(model: type[BaseModel], path: Sequence[str]) -> list[str]:
    """The field names of the group that holds ``path[-1]`` (for "did you mean")."""
    parts = list(path[:-1])
    while parts:
        info = model.model_fields.get(parts.pop(0))
        groups = [c for c in (info.annotation, *get_args(info.annotation)) if isinstance(c, type)
                  and issubclass(c, BaseModel)] if info is not None else []
        if info is not None and get_origin(info.annotation) is dict:
            if not parts:
                return []
            parts.pop(0)  # a mapping of named groups (e.g. roles): the next part is a name
        if not groups:
            return []
        model = groups[0]
    return list(model.model_fields)


def _wants_json(model: type[BaseModel], path: list[str]) -> bool:
    """Whether the field at ``path`` holds a mapping, list or group (so its variable may be JSON)."""
    for i, part in enumerate(path):
        info = model.model_fields.get(part)
        if info is None:
            return False
        candidates = [info.annotation, *get_args(info.annotation)]
        groups = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if i < len(path) - 1:
            if not groups:
                return False
            model = groups[0]
            continue
        return bool(groups) or any(get_origin(c) in (dict, list) or c in (dict, list) for c in candidates)
    return False


class AuditSettings(BaseModel):
    """The audit log. ``anchor_path``: the append-only file, outside the database, where the sealed head of
    the chain is kept (see docs/operations.md); without it a cut tail cannot be detected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    anchor_path: Path | None = None

    @field_validator("anchor_path")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise ValueError("must be an absolute path such as /var/lib/shop-audit/anchor.jsonl, so the shop and "
                             "its cron jobs use the same file")
        return value


class Settings(BaseModel):
    """Everything shopprivacy needs to start. Secrets are ``SecretStr`` and never print."""

    #: How messages name a setting (``SHOPPRIVACY_KEYSET``, or an integration's ``SHOPPRIVACY["keyset"]``).
    _spelling: Spelling | None = PrivateAttr(default=None)

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = "sqlite:///shopprivacy.db"
    keyset: SecretStr | None = None
    keyset_file: Path | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    default_locale: str = "en"
    platform: str = "local"
    platform_options: dict[str, OptionValue] = Field(default_factory=dict)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    erasure_journal: ErasureJournalSettings = Field(default_factory=ErasureJournalSettings)
    fields: FieldsSettings = Field(default_factory=FieldsSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    consent: ConsentSettings = Field(default_factory=ConsentSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    rights: RightsSettings = Field(default_factory=RightsSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    declaration: DeclarationSettings = Field(default_factory=DeclarationSettings)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from .store.diagnose import URL_FORMS, parse_database_url

        if not value.startswith(("sqlite:", "postgresql:", "postgresql+")):
            raise ValueError(f"must be a database URL such as {URL_FORMS}")
        try:
            parse_database_url(value)
        except ConfigurationError:
            raise ValueError(f"is not a database URL; write it as {URL_FORMS}") from None
        return value

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or len(value) < 10:
            raise ValueError("must be an absolute http(s) URL such as https://shop.example")
        return value.rstrip("/")

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if not value.replace("-", "").replace("_", "").isalpha() or not 2 <= len(value) <= 10:
            raise ValueError("must be a language tag such as 'en' or 'pt-BR'")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, spelling: Spelling = env_spelling,
                 **overrides: Any) -> Settings:
        """Build settings from ``SHOPPRIVACY_*`` variables; ``overrides`` win over the environment. ``spelling``
        names a setting in messages (an integration passes its own, e.g. ``SHOPPRIVACY["keyset_file"]``)."""
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        for name, raw in env.items():
            if not name.startswith(ENV_PREFIX) or name.startswith(RESERVED_PREFIXES) or not raw:
                continue
            path = name[len(ENV_PREFIX):].lower().split("__")
            target = data
            for part in path[:-1]:
                target = target.setdefault(part, {})
                if not isinstance(target, dict):
                    raise ConfigurationError(f"{spelling(path)} conflicts with another variable", setting=name)
            value: Any = raw
            if raw[:1] in "{[" and _wants_json(cls, path):
                try:
                    value = json.loads(raw)
                except ValueError as exc:
                    raise ConfigurationError(f"{spelling(path)} is not valid JSON ({exc}); quote names and "
                                             'strings with double quotes: {"name": "value"}', setting=name) from None
            target[path[-1]] = value
        data.update(overrides)
        return cls.build(data, spelling=spelling)

    @classmethod
    def build(cls, data: Mapping[str, Any], *, spelling: Spelling = env_spelling) -> Settings:
        """Validate ``data``; a failure raises :class:`ConfigurationError` naming every bad setting, one line
        each (``setting`` is the first), with a suggestion for a misspelt name."""
        try:
            built = cls.model_validate(dict(data))
            built._spelling = spelling
            return built
        except ValidationError as exc:
            lines: list[str] = []
            names: list[str] = []
            for err in exc.errors():
                path = [printable(str(p)) for p in err["loc"]]
                if path[:1] == ["platform_options"] and len(path) > 1:
                    path = path[:2]  # an option's own value: name the option, not pydantic's union branch
                    setting = f"{spelling(path[:1])}.{path[1]}"
                else:
                    setting = spelling(path)
                if setting in names:
                    continue
                names.append(setting)
                if err["type"] == "extra_forbidden":
                    near = closest(path[-1], _siblings(cls, path))
                    hint = f"; did you mean {spelling([*path[:-1], near])}?" if near else ""
                    lines.append(f"{setting} is not a known setting{hint}")
                elif path[:1] == ["platform_options"]:
                    lines.append(f"{setting} must be a string, number or true/false")
                else:
                    lines.append(f"{setting}: {plain(str(err['msg']))}")
            raise ConfigurationError("\n".join(lines), setting=names[0]) from None

    def load_keyset(self) -> Keyset:
        """The keyset from ``keyset`` (JSON) or ``keyset_file``; missing or weak keys raise KeysetError."""
        spell = self._spelling or env_spelling
        keyset, keyset_file = spell(["keyset"]), spell(["keyset_file"])
        if self.keyset is not None:
            try:
                return Keyset.from_json(self.keyset.get_secret_value())
            except KeysetError as exc:
                raise KeysetError(f"{keyset}: {exc}", setting=keyset) from None
        if self.keyset_file is not None:
            try:
                return Keyset.from_file(self.keyset_file)
            except KeysetError as exc:
                raise KeysetError(f"{keyset_file}: {exc}", setting=keyset_file) from None
        raise KeysetError(f"no keyset: set {keyset} (JSON) or {keyset_file}; "
                          "create one with `shopprivacy keys generate`", setting=keyset)

    def load_keyring(self) -> Keyring:
        return Keyring(self.load_keyset())
