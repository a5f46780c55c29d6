"""Every message catalog (``src/shopprivacy/**/locales/<tag>.json``): the same keys as English, the same
``{placeholders}`` in every text, no empty text, file names that are BCP 47 tags, and the languages the SDK
promises (docs/languages.md)."""

import json
import re
import string
from pathlib import Path

import pytest

import shopprivacy
from shopprivacy.i18n import available_locales, catalog, direction, match

ROOT = Path(shopprivacy.__file__).parent
DIRS = sorted(p for p in ROOT.rglob("locales") if p.is_dir() and (p / "en.json").exists())
FILES = [f for d in DIRS for f in sorted(d.glob("*.json"))]
#: Every official language of the EU, the right-to-left ones, and the others the SDK ships.
REQUIRED = ["bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fr", "ga", "hr", "hu", "it", "lt", "lv", "mt",
            "nl", "pl", "pt", "ro", "sk", "sl", "sv", "ar", "he", "fa", "tr", "uk", "ru", "ja", "zh", "pt-BR", "no"]
FILE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2}|-[0-9]{3})?$")


def ident(path: Path) -> str:
    return str(path.relative_to(ROOT))


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def load(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())
    return data


def test_the_catalog_directories_are_found():
    found = {str(d.parent.relative_to(ROOT)) for d in DIRS}
    assert {"consent/static", "email", "rights", "web", "breaches", "sms"} <= found


@pytest.mark.parametrize("path", FILES, ids=ident)
def test_a_catalog_has_englishs_keys_and_placeholders_and_no_empty_text(path):
    english, texts = load(path.parent / "en.json"), load(path)
    assert FILE_TAG.match(path.stem), f"{path.name}: name it by its BCP 47 tag, region in capitals (pt-BR.json)"
    assert not set(english) - set(texts), f"missing keys: {sorted(set(english) - set(texts))}"
    assert not set(texts) - set(english), f"keys English lacks: {sorted(set(texts) - set(english))}"
    for key, text in texts.items():
        assert text.strip(), f"{key} is empty"
        assert text == text.strip(), f"{key} starts or ends with white space"
        try:
            found = placeholders(text)
        except ValueError as exc:  # a lone brace: str.format would raise on the page
            pytest.fail(f"{key}: {exc}")
        assert found == placeholders(english[key]), f"{key}: placeholders {sorted(found)}, English has " \
                                                    f"{sorted(placeholders(english[key]))}"
        text.format(**dict.fromkeys(found, "x"))


@pytest.mark.parametrize("folder", DIRS, ids=lambda d: str(d.parent.relative_to(ROOT)))
def test_every_required_language_is_present(folder):
    present = {p.stem for p in folder.glob("*.json")}
    assert not [t for t in REQUIRED if t not in present], f"missing in {ident(folder)}"


@pytest.mark.parametrize("folder", DIRS, ids=lambda d: str(d.parent.relative_to(ROOT)))
def test_each_file_is_what_negotiation_finds_for_its_own_tag(folder):
    package = "shopprivacy." + ".".join(folder.parent.relative_to(ROOT).parts)
    tags = available_locales(package)
    for tag in tags:
        assert match(tags, tag) == tag and match(tags, tag.lower()) == tag and match(tags, tag.upper()) == tag
        assert catalog(package, tag).keys() == catalog(package, "en").keys()
        assert direction(tag) == ("rtl" if tag.split("-")[0] in {"ar", "he", "fa", "ur"} else "ltr")
