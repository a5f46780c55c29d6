"""Old import paths keep working for a while, each with a DeprecationWarning naming the new one."""

import importlib
import sys

import pytest


@pytest.mark.parametrize(("old", "new", "name"), [
    ("shopprivacy.web.consent_pages", "shopprivacy.consent.pages", "ConsentPages"),
    ("shopprivacy.fields.token", "shopprivacy.fields.ciphertext", "is_token"),
])
def test_an_old_path_warns_and_gives_the_same_object(old, new, name):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_outbox_settings_are_still_importable_from_settings():
    from shopprivacy.settings import OutboxSettings
    from shopprivacy.store import OutboxSettings as next_to_the_outbox

    assert OutboxSettings is next_to_the_outbox
