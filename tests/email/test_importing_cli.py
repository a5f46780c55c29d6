"""``shopprivacy consent import``: the report, exit status 1 when a record was refused, one-line config errors."""

import pytest

from shopprivacy import ShopPrivacy
from shopprivacy.cli import main
from shopprivacy.email.settings import EmailSettings

from .conftest import LISTS
from .test_importing import Pages, customers, rec


class FakeShopify(Pages):
    name = "shopify"

    def close(self):
        pass


@pytest.fixture
def shopify_sp(settings, store):
    s = settings.model_copy(update={"email": EmailSettings(lists=LISTS), "platform": "shopify"})
    app = ShopPrivacy(s, store=store, adapter=FakeShopify([*customers(3), rec(at=None)]))
    yield app
    app.close()


def test_import_prints_its_report_and_exits_1_when_a_record_was_refused(shopify_sp, capsys):
    assert main(["consent", "import", "shopify", "--dry-run"], facade=lambda: shopify_sp) == 1
    out = capsys.readouterr()
    assert out.out.strip() == ("consent import shopify: would import 3, unchanged 0, skipped 0, failed 1 "
                               "(4 records, 2 pages)")
    assert out.err.strip() == ("refused: record 4 (shopify:gid://shopify/Customer/1): a subscribed record needs "
                               "consented_at: without it there is no proof of when")
    assert main(["consent", "import", "shopify", "--list", "offers"], facade=lambda: shopify_sp) == 1
    assert "imported 3," in capsys.readouterr().out
    assert shopify_sp.email.state("c1@example.com", "offers") == "subscribed"


def test_a_mistyped_list_is_one_line_with_a_suggestion(shopify_sp, capsys):
    assert main(["consent", "import", "shopify", "--list", "newsleter"], facade=lambda: shopify_sp) == 2
    assert capsys.readouterr().err == ("error: --list 'newsleter' is not a declared mailing list; did you mean "
                                       "'newsletter'?\n")


def test_another_platform_than_the_configured_one_is_one_line(esp, capsys):
    assert main(["consent", "import", "woocommerce"], facade=lambda: esp) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SHOPPRIVACY_PLATFORM=woocommerce" in err and "'local'" in err


def test_an_adapter_that_cannot_list_consent_is_named(settings, store, capsys):
    class Bare:
        name = "shopify"

        def close(self):
            pass

    s = settings.model_copy(update={"email": EmailSettings(lists=LISTS), "platform": "shopify"})
    app = ShopPrivacy(s, store=store, adapter=Bare())
    assert main(["consent", "import", "shopify"], facade=lambda: app) == 2
    assert "cannot list marketing consent" in capsys.readouterr().err
