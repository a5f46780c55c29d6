"""Publishing declaration versions: a material change queues a change notice to every customer on file."""

from pathlib import Path

import pytest

from shopprivacy import ShopPrivacy
from shopprivacy.declaration import DeclarationSettings, parse_declaration
from shopprivacy.declaration.changes import TOPIC, material_changes

EXAMPLE = (Path(__file__).parent / "example.toml").read_text()
NEW_PROCESSOR = ('\n[processors.crm]\nname = "Tiny CRM"\ncountry = "DE"\npurposes = ["selling"]\ndata = ["contact"]\n'
                 'transfer = "eea"\ncontract_date = 2026-11-01\n')


def test_what_is_material():
    old = parse_declaration(EXAMPLE)
    assert material_changes(old, old) == []
    assert material_changes(old, parse_declaration(EXAMPLE.replace("Colissimo", "Chronopost"))) == []
    assert material_changes(old, parse_declaration(EXAMPLE + NEW_PROCESSOR)) == ["processor:crm"]
    more = EXAMPLE.replace('purposes = ["newsletter"]\ndata = ["contact"]',
                           'purposes = ["newsletter"]\ndata = ["contact", "orders"]')
    assert material_changes(old, parse_declaration(more)) == ["processor:mail"]
    extra = EXAMPLE + ('\n[data.reviews]\nname = "Reviews"\nfields = ["reviews.*"]\nstored_in = "shop"\n'
                       'keep_for = "2y"\n[purposes.reviews]\nname = "Publishing your reviews"\n'
                       'legal_basis = "consent"\nconsent_list = "reviews"\ndata = ["reviews"]\n')
    assert material_changes(old, parse_declaration(extra)) == ["purpose:reviews", "data:reviews"]


@pytest.fixture
def csp(settings, store, tmp_path):
    path = tmp_path / "declaration.toml"
    path.write_text(EXAMPLE)
    app = ShopPrivacy(settings.model_copy(update={"declaration": DeclarationSettings(file=path)}), store=store)
    app.path = path
    yield app
    app.close()


def _reload(app):
    app.__dict__.pop("declaration", None)


def _customers(app, n):
    for i in range(n):
        app.email.unsubscribe_address(f"c{i}@example.com", "newsletter")  # every address the SDK holds is told
    return [f"c{i}@example.com" for i in range(n)]


def test_a_material_change_notifies_every_customer_once_through_the_outbox(csp):
    addresses = _customers(csp, 3)
    first = csp.declaration.publish()
    assert first.new and first.changes == () and first.queued == 0
    assert not csp.declaration.publish().new  # the same version again: nothing
    csp.path.write_text(EXAMPLE + NEW_PROCESSOR)
    _reload(csp)
    sent = []
    csp.declaration.set_sender(sent.append)
    second = csp.declaration.publish()
    assert second.new and second.changes == ("processor:crm",) and second.queued == 3
    assert csp.declaration.publish().queued == 3  # idempotent
    csp.run_due()
    assert sorted(n.to for n in sent) == sorted(addresses)
    notice = sent[0]
    assert "Tiny CRM" in notice.text and "https://shop.example/privacy/notice" in notice.text
    assert notice.subject == "Example Shop Ltd has updated its privacy notice" and "Tiny CRM" in notice.html
    assert "@example.com" not in repr(notice)
    assert [e.action for e in csp.audit.entries(action="declaration.published")] == ["declaration.published"] * 2


def test_queueing_resumes_after_an_interruption_without_doubles(csp, monkeypatch):
    _customers(csp, 5)
    csp.declaration.publish()
    csp.path.write_text(EXAMPLE + NEW_PROCESSOR)
    _reload(csp)
    monkeypatch.setattr("shopprivacy.declaration.changes._BATCH", 2)
    monkeypatch.setattr(csp.email.subjects, "held", _batches_of_two(csp.email.subjects.held))
    real, calls = csp.outbox.enqueue, []

    def flaky(conn, topic, payload, **kw):
        calls.append(payload.get("subject"))
        if len(calls) == 3:
            raise KeyboardInterrupt  # kill mid-run: the batch in progress rolls back
        return real(conn, topic, payload, **kw)

    monkeypatch.setattr(csp.outbox, "enqueue", flaky)
    with pytest.raises(KeyboardInterrupt):
        csp.declaration.publish()
    monkeypatch.setattr(csp.outbox, "enqueue", real)
    assert csp.declaration.publish().queued == 5
    with csp.store.begin(write=False) as conn:
        from sqlalchemy import func, select

        from shopprivacy.store.schema import outbox

        n = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.topic == TOPIC)).scalar()
    assert n == 5


def _batches_of_two(held):
    def wrapper(*, until=None, batch=1000):
        return held(until=until, batch=2)
    return wrapper


def test_without_a_sender_the_notice_waits(csp):
    _customers(csp, 1)
    csp.declaration.publish()
    csp.path.write_text(EXAMPLE + NEW_PROCESSOR)
    _reload(csp)
    csp.declaration.publish()
    report = csp.run_due()
    assert report.outbox.errors == {"RetryLater": 1}  # waits for sp.declaration.set_sender
