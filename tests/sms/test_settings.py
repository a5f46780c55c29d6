import json
import sys
from datetime import time

import pytest

from shopprivacy import Settings, ShopPrivacy
from shopprivacy.errors import ConfigurationError, DidNotEnable


def test_sms_settings_from_the_environment(keyset):
    s = Settings.from_env({"SHOPPRIVACY_KEYSET": keyset.to_json(),
                           "SHOPPRIVACY_SMS__TWILIO_AUTH_TOKEN": "s3cr3t-auth-value",
                           "SHOPPRIVACY_SMS__DEFAULT_REGION": "FR", "SHOPPRIVACY_SMS__QUIET_START": "20:30",
                           "SHOPPRIVACY_SMS__LISTS": '{"offers": {"names": {"en": "Offers"}}}'})
    assert s.sms.default_region == "FR" and s.sms.quiet_start == time(20, 30) and list(s.sms.lists) == ["offers"]
    assert "s3cr3t" not in repr(s) and s.sms.twilio_auth_token.get_secret_value() == "s3cr3t-auth-value"


@pytest.mark.parametrize(("name", "value"), [("DEFAULT_REGION", "France"), ("DEFAULT_TIME_ZONE", "Mars/Olympus"),
                                             ("CODE_DIGITS", "2"), ("LISTS", '{"a b": {}}')])
def test_bad_sms_settings_name_the_variable(keyset, name, value):
    with pytest.raises(ConfigurationError, match=f"SHOPPRIVACY_SMS__{name}"):
        Settings.from_env({"SHOPPRIVACY_KEYSET": keyset.to_json(), f"SHOPPRIVACY_SMS__{name}": value})


def test_without_the_sms_extra_sp_sms_says_what_to_install(settings, monkeypatch):
    import shopprivacy.sms as package

    monkeypatch.setitem(sys.modules, "phonenumbers", None)  # as if not installed
    for name in [m for m in sys.modules if m.startswith("shopprivacy.sms.") and
                 m.rsplit(".", 1)[1] not in {"settings", "message", "tables"}]:
        monkeypatch.delitem(sys.modules, name)
        monkeypatch.delattr(package, name.rsplit(".", 1)[1], raising=False)
    sp = ShopPrivacy(settings)
    with pytest.raises(DidNotEnable, match=r"shopprivacy\[sms\]"):
        sp.sms  # noqa: B018
    assert "sms.inbound" not in {r.name for r in sp.web_routes()}


def test_sms_commands(ssp, capsys):
    from shopprivacy.cli import main

    def run(*argv):
        code = main(list(argv), facade=lambda: ssp)
        return code, capsys.readouterr()

    ssp.sms.opt_in("06 12 34 56 78", "marketing", wording="Text me offers.", source="signup")
    code, out = run("sms", "status", "+33612345678")
    assert code == 0 and "marketing\tsubscribed" in out.out and "opted_in_opt_in\tsignup" in out.out
    assert run("sms", "opt-out", "06 12 34 56 78", "--program", "marketing")[1].out == "opted out\n"
    assert run("sms", "opt-out", "06 12 34 56 78", "--program", "marketing")[1].out == "already opted out\n"
    code, out = run("sms", "status", "+33612345678", "--json")
    assert json.loads(out.out)["programs"]["marketing"] == "unsubscribed"
    assert run("sms", "erase", "+33612345678")[1].out == "erased\n"
    assert ssp.sms.is_suppressed("+33612345678")
    code, out = run("sms", "status", "not a number")
    assert code == 2 and "phone number" in out.err and "not a number" not in out.err


def test_help_and_code_texts_come_from_the_catalog_unless_the_shop_sets_its_own():
    from shopprivacy.sms.settings import SmsSettings

    s = SmsSettings(shop_name="Boutique")
    assert s.text("help", "es").startswith("Boutique: SMS de marketing. Responde STOP")
    assert s.text("code", "it-CH", code="123456") == ("Boutique: il tuo codice per confermare gli SMS di marketing "
                                                      "è 123456. Rispondi STOP per annullare l'iscrizione.")
    assert s.text("help", "xx").startswith("Boutique: marketing texts.")  # no such language: English
    own = SmsSettings(shop_name="B", help_text={"en": "{shop} help", "fr": "{shop} aide"})
    assert own.text("help", "fr-CA") == "B aide" and own.text("help", "tlh") == "B help"
    assert own.text("help", "de").startswith("B: Marketing-SMS")  # a language the shop left out: the SDK's
