"""The public notice and cookie policy pages, in the visitor's language, through Flask."""

from pathlib import Path

import pytest

flask = pytest.importorskip("flask")

from shopprivacy import Keyset  # noqa: E402
from shopprivacy.integrations.flask import ShopPrivacyFlask  # noqa: E402

EXAMPLE = Path(__file__).with_name("example.toml")


def _app(tmp_path, **config):
    app = flask.Flask(__name__)
    app.config.update(SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp_path}/sp.db",
                      SHOPPRIVACY_KEYSET=Keyset.generate().to_json(),
                      SHOPPRIVACY_PUBLIC_BASE_URL="https://shop.example", **config)
    ShopPrivacyFlask(app)
    ShopPrivacyFlask.sp(app).store.upgrade()
    return app


def test_notice_and_cookie_pages_are_served_in_the_visitors_language(tmp_path):
    app = _app(tmp_path, SHOPPRIVACY_DECLARATION={"file": str(EXAMPLE)})
    client = app.test_client()
    page = client.get("/privacy/notice", headers={"Accept-Language": "fr;q=0.9, en;q=0.1"})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert body.count("<h1>") == 1 and "Coordonnées" in body and "https://shop.example/privacy/rights" in body
    assert page.headers["ETag"].startswith('"')
    cookies = client.get("/privacy/cookies").get_data(as_text=True)
    assert "<td>_ga*</td>" in cookies


def test_a_picked_language_wins_and_an_overlong_one_is_ignored(tmp_path):
    client = _app(tmp_path, SHOPPRIVACY_DECLARATION={"file": str(EXAMPLE)}).test_client()
    picked = client.get("/privacy/notice?lang=fr", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Coordonnées" in picked and "<title>Politique de confidentialité</title>" in picked
    overlong = client.get("/privacy/notice?lang=" + "f" * 36, headers={"Accept-Language": "de"})
    assert "<title>Datenschutzerklärung</title>" in overlong.get_data(as_text=True)


def test_without_a_declaration_the_pages_are_404(tmp_path):
    client = _app(tmp_path).test_client()
    assert client.get("/privacy/notice").status_code == 404
    assert client.get("/privacy/cookies").status_code == 404


def test_in_debug_mode_the_names_of_cookies_the_shop_sets_are_watched(tmp_path):
    app = flask.Flask(__name__)
    app.debug = True
    app.config.update(SHOPPRIVACY_DATABASE_URL=f"sqlite:///{tmp_path}/sp.db",
                      SHOPPRIVACY_KEYSET=Keyset.generate().to_json(),
                      SHOPPRIVACY_DECLARATION={"file": str(EXAMPLE)})
    ShopPrivacyFlask(app)
    sp = ShopPrivacyFlask.sp(app)
    sp.store.upgrade()

    @app.get("/track")
    def track():
        resp = flask.make_response("ok")
        resp.set_cookie("_fbp", "fb.1.secret-value")
        return resp

    assert app.test_client().get("/track").status_code == 200
    assert sp.declaration.observed() == ["_fbp"]
    assert [d.kind for d in sp.declaration.drift()] == ["retention_unknown_rule", "retention_unknown_rule",
                                                        "cookie_undeclared"]


def test_a_broken_declaration_stops_the_app_at_start_in_one_line(tmp_path):
    from shopprivacy.declaration import DeclarationError

    broken = tmp_path / "declaration.toml"
    broken.write_text(EXAMPLE.read_text().replace('legal_basis = "contract"', 'legal_basis = "contrat"'))
    with pytest.raises(DeclarationError, match="did you mean 'contract'"):
        _app(tmp_path, SHOPPRIVACY_DECLARATION={"file": str(broken)})
