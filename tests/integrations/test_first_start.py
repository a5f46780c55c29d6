"""Start-up with broken settings: Django's ``manage.py check`` reports each as a system check (not a traceback
from importing the URLconf), naming it as the ``SHOPPRIVACY`` dict does; Flask refuses to start without keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shopprivacy import Keyset
from shopprivacy.errors import KeysetError

PROJECT = {
    "dj_settings.py": """
import json, os
SECRET_KEY = "test-only"
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "dj_urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "shopprivacy.integrations.django"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJ_FOLDER"] + "/shop.db"}}
USE_TZ = True
SHOPPRIVACY = json.loads(os.environ["DJ_SHOPPRIVACY"])
""",
    "dj_urls.py": """
from django.urls import include, path
urlpatterns = [path("", include("shopprivacy.integrations.django.urls"))]
""",
    "manage.py": """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dj_settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
""",
}


@pytest.fixture
def manage(tmp_path: Path):
    for name, text in PROJECT.items():
        (tmp_path / name).write_text(text)
    keyfile = tmp_path / "keys.json"
    Keyset.generate().write(keyfile)

    def run(*args: str, **config: object) -> subprocess.CompletedProcess[str]:
        base = {"keyset_file": str(keyfile), "database_url": f"sqlite:///{tmp_path}/sp.db"}
        shopprivacy = {k: v for k, v in {**base, **config}.items() if v is not None}
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPPRIVACY_")}
        env.update(DJ_FOLDER=str(tmp_path), DJ_SHOPPRIVACY=json.dumps(shopprivacy),
                   PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
        return subprocess.run([sys.executable, str(tmp_path / "manage.py"), *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)

    return run


@pytest.mark.parametrize(("config", "check_id", "words"), [
    ({"platform": "shopfiy"}, "shopprivacy.W004", "did you mean 'shopify'?"),
    ({"keyset_file": None, "keyset_flie": "/x"}, "shopprivacy.E001",
     'SHOPPRIVACY["keyset_flie"] is not a known setting; did you mean SHOPPRIVACY["keyset_file"]?'),
    ({"outbox": {"max_atempts": 3}}, "shopprivacy.E001", 'did you mean SHOPPRIVACY["outbox"]["max_attempts"]?'),
    ({"keyset_file": None}, "shopprivacy.W001",
     'no keyset: set SHOPPRIVACY["keyset"] (JSON) or SHOPPRIVACY["keyset_file"]'),
    ({"database_url": "postgresql+psycopg://shop@127.0.0.1:1/shop"}, "shopprivacy.W002",
     "connection refused at 127.0.0.1:1"),
    ({"database_url": "sqlite:////nonexistent-folder-sp/sp.db"}, "shopprivacy.W002",
     "the directory /nonexistent-folder-sp does not exist"),
])
def test_manage_py_check_reports_each_broken_setting(manage, config, check_id, words):
    result = manage("check", **config)
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    assert f"({check_id}) " in out and words in out
    assert "SHOPPRIVACY_KEYSET_FLIE" not in out
    if check_id.endswith("E001"):
        assert result.returncode != 0


def test_shopprivacy_doctor_runs_with_a_broken_setting(manage):
    result = manage("shopprivacy_doctor", platform="shopfiy")
    out = result.stdout + result.stderr
    assert "Traceback" not in out and "did you mean 'shopify'?" in out and result.returncode != 0


def test_the_endpoints_answer_once_the_problem_is_fixed(tmp_path, monkeypatch):
    """The URLconf imported with a broken facade: 503 until it can be built, then the real endpoint."""
    from .django_project import configure

    configure(tmp_path)
    from django.conf import settings
    from django.test import Client, override_settings

    from shopprivacy.integrations.django import urls
    from shopprivacy.integrations.django.runtime import get_sp

    good = dict(settings.SHOPPRIVACY)
    with override_settings(SHOPPRIVACY={**good, "platform": "shopfiy"}):
        get_sp.cache_clear()
        patterns = urls._patterns()
        assert len(patterns) == 2
    module = type(sys)("sp_pending_urls")
    module.urlpatterns = patterns  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sp_pending_urls", module)
    with override_settings(ROOT_URLCONF="sp_pending_urls", SHOPPRIVACY={**good, "platform": "shopfiy"}):
        get_sp.cache_clear()
        resp = Client().get("/.well-known/gpc.json")
        assert resp.status_code == 503 and "shopfiy" not in resp.content.decode()
    with override_settings(ROOT_URLCONF="sp_pending_urls"):
        get_sp.cache_clear()
        resp = Client().get("/.well-known/gpc.json")
        assert resp.status_code == 200 and json.loads(resp.content) == {"gpc": True, "lastUpdate": json.loads(
            resp.content)["lastUpdate"]}
    get_sp.cache_clear()


def test_flask_refuses_to_start_without_a_keyset(tmp_path):
    import flask

    from shopprivacy.integrations.flask import ShopPrivacyFlask

    app = flask.Flask("shop")
    app.config["SHOPPRIVACY_DATABASE_URL"] = f"sqlite:///{tmp_path}/sp.db"
    with pytest.raises(KeysetError, match="no keyset"):
        ShopPrivacyFlask(app)
