"""Each integration refuses a framework older than it supports, naming both versions (sentry-python style)."""

import importlib
import sys

import pytest

import shopprivacy.integrations as integrations
from shopprivacy.errors import ConfigurationError, DidNotEnable


def test_did_not_enable_is_a_configuration_error():
    assert issubclass(DidNotEnable, ConfigurationError) and integrations.DidNotEnable is DidNotEnable


@pytest.mark.parametrize("installed", ["3.0.0", "3.1.2", "4.0", "10.0.0rc1"])
def test_a_supported_version_passes(monkeypatch, installed):
    monkeypatch.setattr(integrations, "installed_version", lambda name: installed)
    integrations.require_version("Flask", (3, 0), "flask")


@pytest.mark.parametrize("installed", ["2.3.3", "0.12", "dev"])
def test_an_older_version_names_both_versions_and_the_fix(monkeypatch, installed):
    monkeypatch.setattr(integrations, "installed_version", lambda name: installed)
    with pytest.raises(DidNotEnable) as err:
        integrations.require_version("Flask", (3, 0), "flask")
    message = str(err.value)
    assert installed in message and "Flask 3.0 or newer" in message and "shopprivacy[flask]" in message


def test_a_missing_framework_says_what_to_install(monkeypatch):
    monkeypatch.setattr(integrations, "installed_version", lambda name: None)
    with pytest.raises(DidNotEnable, match=r"Django 5\.2 or newer, which is not installed.*shopprivacy\[django\]"):
        integrations.require_version("Django", (5, 2), "django")


@pytest.mark.parametrize(("module", "framework", "old"), [
    ("shopprivacy.integrations.flask", "Flask", "2.3.3"),
    ("shopprivacy.integrations.django", "Django", "4.2.11"),
])
def test_importing_an_integration_checks_the_framework_version(monkeypatch, module, framework, old):
    real = integrations.installed_version
    monkeypatch.setattr(integrations, "installed_version", lambda name: old if name == framework else real(name))
    monkeypatch.delitem(sys.modules, module, raising=False)  # restored afterwards by monkeypatch
    with pytest.raises(DidNotEnable, match=rf"{framework} .* but {old} is installed"):
        importlib.import_module(module)
