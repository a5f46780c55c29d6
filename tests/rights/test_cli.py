import json

from shopprivacy import Settings, ShopPrivacy
from shopprivacy.cli import main


def test_rights_commands(settings, store, capsys):
    environ = {"SHOPPRIVACY_DATABASE_URL": settings.database_url,
               "SHOPPRIVACY_KEYSET": settings.keyset.get_secret_value()}
    sp = ShopPrivacy(Settings.from_env(environ), store=store)
    req = sp.rights.open("erase", {"email": "jane@example.com"}, verified_by="shopify")
    other = sp.rights.open("export", {"email": "john@example.com"})
    assert main(["rights", "list", "--json"], environ) == 0
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(listed) == {req.id, other.id}
    assert main(["rights", "process", req.id], environ) == 0
    assert main(["rights", "show", req.id], environ) == 0
    out = capsys.readouterr().out
    assert "done" in out and "email.suppression retained" in out and "jane" not in out
    assert main(["rights", "show", req.id, "--json"], environ) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "done"
    assert main(["rights", "extend", other.id, "identity documents awaited"], environ) == 2  # not verified
    third = sp.rights.open("export", {"email": "sam@example.com"}, verified_by="shopify")
    assert main(["rights", "extend", third.id, "many systems to search"], environ) == 0
    assert main(["rights", "reject", other.id, "identity could not be verified"], environ) == 0
    assert main(["rights", "reject", other.id, "again"], environ) == 2
    assert main(["rights", "process", "rr_unknown"], environ) == 2
    assert main(["rights", "list", "--state", "rejected"], environ) == 0
    assert other.id in capsys.readouterr().out
    sp.close()


def test_lift_restriction_command(settings, store, capsys):
    environ = {"SHOPPRIVACY_DATABASE_URL": settings.database_url,
               "SHOPPRIVACY_KEYSET": settings.keyset.get_secret_value()}
    sp = ShopPrivacy(Settings.from_env(environ), store=store)
    req = sp.rights.open("restrict", {"email": "jane@example.com"}, verified_by="shop-login")
    sp.rights.process(req.id)
    assert sp.restrictions.blocks({"email": "jane@example.com"}, "renewal")
    assert main(["rights", "lift-restriction", "--email", "jane@example.com", "accuracy verified"], environ) == 0
    assert "restrict lifted (1 request(s))" in capsys.readouterr().out
    assert not sp.restrictions.blocks({"email": "jane@example.com"}, "renewal")
    assert main(["rights", "lift-restriction", "--email", "jane@example.com", "again"], environ) == 0
    assert "no restrict was in place" in capsys.readouterr().out
    assert main(["rights", "lift-restriction", "accuracy verified"], environ) == 2  # no identifier: refused
    sp.close()
