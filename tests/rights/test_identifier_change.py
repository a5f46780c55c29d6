"""Corrections of an e-mail address or phone need proof of control of the new value (rights.identifier_change):
through the portal and its pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select

from shopprivacy.rights import TableSource
from shopprivacy.rights.masking import MaskedChange
from shopprivacy.rights.tables import identifiers
from shopprivacy.web import Request

from .conftest import confirm_new, verify_all

SAME_ORIGIN = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://shop.example"}
VICTIM, ATTACKER = "victim@example.com", "mallory@example.net"
VICTIM_MASKED, ATTACKER_MASKED = "v***@e******.com", "m***@e******.net"

#: A shop's account table: logged into by the e-mail's blind index, values encrypted (as the example shops).
accounts = Table("shop_accounts", MetaData(), Column("id", Integer, primary_key=True),
                 Column("email_bidx", String(64), unique=True), Column("email", String(400)),
                 Column("phone", String(400)), Column("name", String(200)))


@pytest.fixture
def shop(rsp, db_url):
    engine = create_engine(db_url)
    accounts.metadata.create_all(engine)
    rsp.rights.register_source(TableSource(
        "accounts", engine, accounts, subject_column="email_bidx", blind_indexed=True,
        fields=("email", "phone", "name"), encrypted={"email": "shop_accounts.email", "phone": "shop_accounts.phone"},
        rectify={"email": ("email", "email_bidx"), "phone": "phone", "first_name": "name"}, delete_rows=True,
        cipher=rsp.fields))
    with engine.begin() as conn:
        conn.execute(insert(accounts).values(
            id=1, email_bidx=rsp.fields.blind_index(VICTIM, kind="email"), name="Victoria",
            email=rsp.fields.encrypt(VICTIM, context="shop_accounts.email", row="1"),
            phone=rsp.fields.encrypt("+33612345678", context="shop_accounts.phone", row="1")))
    yield engine
    engine.dispose()


def login(sp, engine, address):
    """The shop's login lookup: the id of the account whose e-mail blind index matches ``address``."""
    with engine.connect() as conn:
        return conn.execute(select(accounts.c.id).where(
            accounts.c.email_bidx == sp.fields.blind_index(address, kind="email"))).scalar()


def token(link):
    return link.split("?t=", 1)[1]


def page(sp, handler, method, link_or_token):
    t = token(link_or_token) if "?t=" in link_or_token else link_or_token
    path = "/privacy/rights/verify-new" if handler == "verify_new" else "/privacy/rights/verify"
    return getattr(sp.rights_web, handler)(Request(method, path, query={"t": t}))


def stranger_asks_to_move(sp, mailbox):
    """A stranger posts the portal's correction form for the victim; the victim gets the genuine mail."""
    resp = sp.rights_web.portal(Request(
        "POST", "/privacy/rights", headers=SAME_ORIGIN, remote_addr="198.51.100.7",
        body=b"action=rectify&email=victim%40example.com&new_email=mallory%40example.net"))
    assert resp.status == 200
    [req] = sp.rights.find()
    sp.outbox.deliver_due()
    return req, mailbox.link("verify", req.id)


def test_the_victims_one_click_does_not_move_the_account_to_the_strangers_address(rsp, mailbox, shop):
    req, link = stranger_asks_to_move(rsp, mailbox)
    assert page(rsp, "verify", "POST", link).status == 200  # the victim clicks "Confirm"
    rsp.run_due()

    assert login(rsp, shop, VICTIM) == 1 and login(rsp, shop, ATTACKER) is None  # nothing changed
    assert rsp.rights.get(req.id).state == "awaiting_new"
    attackers_export = rsp.rights.open("export", {"email": ATTACKER}, verified_by="staff")
    assert rsp.rights.process(attackers_export.id).state == "done"
    sources = {s.source for s in rsp.rights.receipt(attackers_export.id).sources}
    assert "accounts" not in sources  # the export of "their" data holds nothing of the victim
    [new_link] = mailbox.of("verify_new", req.id)
    assert new_link.to == ATTACKER and new_link.channel == "email" and "/rights/verify-new?t=" in new_link.link
    assert new_link.changes == (MaskedChange("email", VICTIM_MASKED, ATTACKER_MASKED, needs_proof=True),)

    # only once the new address confirms (here: its owner does) is the correction made
    assert page(rsp, "verify_new", "POST", new_link.link).status == 200
    assert rsp.rights.get(req.id).state == "verified" and login(rsp, shop, VICTIM) == 1
    rsp.run_due()
    assert rsp.rights.get(req.id).state == "done"
    assert login(rsp, shop, ATTACKER) == 1 and login(rsp, shop, VICTIM) is None
    [told] = mailbox.of("identifier_changed", req.id)  # the previous address is told, with the new one masked
    assert told.to == VICTIM and told.changes[0].new == ATTACKER_MASKED and ATTACKER not in repr(told)
    assert [n.to for n in mailbox.of("done", req.id)] == [VICTIM]
    timeline = [a for _, a in rsp.rights.receipt(req.id).timeline]
    assert timeline.index("rights.awaiting_new") < timeline.index("rights.new_identifier_verified") \
        < timeline.index("rights.rectified")
    rsp.audit.verify()


def test_pages_and_mails_show_both_addresses_masked_only(rsp, mailbox, shop, caplog):
    caplog.set_level(logging.DEBUG)
    req, link = stranger_asks_to_move(rsp, mailbox)
    [verify] = mailbox.of("verify", req.id)
    assert verify.changes == (MaskedChange("email", VICTIM_MASKED, ATTACKER_MASKED, needs_proof=True),)
    html = page(rsp, "verify", "GET", link).body.decode()
    assert f"<bdi>{VICTIM_MASKED}</bdi> → <bdi>{ATTACKER_MASKED}</bdi>" in html
    assert "Confirm only if you asked for it yourself" in html and "mallory" not in html and "victim@" not in html
    done = page(rsp, "verify", "POST", link).body.decode()
    assert "Next, we send a link to the new e-mail address" in done and "mallory" not in done
    rsp.run_due()
    new = mailbox.link("verify_new", req.id)
    html = page(rsp, "verify_new", "GET", new).body.decode()
    assert ATTACKER_MASKED in html and VICTIM_MASKED in html and "mallory" not in html and "victim@" not in html
    assert "Confirm only if that was you" in html and "you sign in with" not in html
    assert rsp.rights.get(req.id).state == "awaiting_new"  # a GET (a mail scanner) confirms nothing
    french, arabic = (rsp.rights_web.verify_new(Request("GET", "/privacy/rights/verify-new",
                                                        query={"t": token(new), "lang": lang})).body.decode()
                      for lang in ("fr", "ar"))
    assert "Adresse e-mail" in french and "Confirmez vos nouvelles coordonnées" in french
    assert 'dir="rtl"' in arabic and f"<bdi>{ATTACKER_MASKED}</bdi>" in arabic
    page(rsp, "verify_new", "POST", new)
    rsp.run_due()
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "mallory" not in logged and "victim" not in logged and token(new) not in logged


def test_a_link_to_a_new_address_is_single_use(rsp, mailbox, shop):
    req = rsp.rights.open("rectify", {"email": VICTIM}, verified_by="shop-login", changes={"email": ATTACKER})
    assert rsp.rights.process(req.id).state == "awaiting_new"
    rsp.outbox.deliver_due()
    link = mailbox.link("verify_new", req.id)
    assert page(rsp, "verify_new", "POST", link).status == 200
    again = page(rsp, "verify_new", "POST", link)
    assert again.status == 410 and b"already used" in again.body
    assert page(rsp, "verify_new", "GET", link).status == 410
    assert rsp.rights.process(req.id).state == "done"
    assert page(rsp, "verify_new", "POST", link).status == 409  # closed
    assert len(mailbox.of("verify_new", req.id)) == 1


def test_a_link_to_a_new_address_expires_and_the_request_with_it(rsp, mailbox, shop, clock):
    req = rsp.rights.open("rectify", {"email": VICTIM}, verified_by="shop-login", changes={"email": ATTACKER})
    rsp.rights.process(req.id)
    rsp.outbox.deliver_due()
    link = mailbox.link("verify_new", req.id)
    clock.advance(hours=rsp.settings.rights.verify_max_age_hours, seconds=1)
    for method in ("GET", "POST"):
        resp = page(rsp, "verify_new", method, link)
        assert resp.status == 400 and b"expired" in resp.body
    assert rsp.run_due().tasks["rights"]["expired"] == 1
    assert rsp.rights.get(req.id).state == "expired" and login(rsp, shop, VICTIM) == 1
    assert page(rsp, "verify_new", "POST", link).status in (400, 409)
    with rsp.store.begin() as conn:
        assert conn.execute(select(identifiers.c.verified_at).where(
            identifiers.c.request_id == req.id, identifiers.c.kind == "new_email")).scalar_one() is None


def test_the_link_is_issued_when_the_hold_starts_not_when_the_request_was_opened(rsp, mailbox, shop, clock):
    req = rsp.rights.open("rectify", {"email": VICTIM}, changes={"email": ATTACKER})
    rsp.outbox.deliver_due()
    clock.advance(hours=70)
    verify_all(rsp, mailbox, req.id)
    rsp.run_due()
    clock.advance(hours=60)  # 130 hours after opening, 60 after the link to the new address
    assert page(rsp, "verify_new", "POST", mailbox.link("verify_new", req.id)).status == 200


def test_links_of_one_kind_never_confirm_the_other(rsp, mailbox, shop):
    req = rsp.rights.open("rectify", {"email": VICTIM}, verified_by="shop-login", changes={"email": ATTACKER})
    rsp.rights.process(req.id)
    with rsp.store.begin() as conn:
        proof = conn.execute(select(identifiers).where(identifiers.c.request_id == req.id,
                                                       identifiers.c.kind == "new_email")).one()
    forged_verify = rsp.rights._verification.signer.sign({"r": req.id, "k": "new_email", "b": proof.bidx})
    assert page(rsp, "verify", "POST", forged_verify).status == 400  # a request link never confirms a new value
    assert page(rsp, "verify_new", "POST", forged_verify).status == 400
    wrong_value = rsp.rights.identifier_changes._signer.sign(
        {"r": req.id, "k": "email", "b": rsp.fields.blind_index("other@example.net", kind="email")})
    assert page(rsp, "verify_new", "POST", wrong_value).status == 400
    other_request = rsp.rights.identifier_changes._signer.sign({"r": "rr_nosuch", "k": "email", "b": proof.bidx})
    assert page(rsp, "verify_new", "POST", other_request).status in (400, 404)
    assert rsp.rights.get(req.id).state == "awaiting_new" and login(rsp, shop, VICTIM) == 1


payloads = st.fixed_dictionaries({}, optional={
    "r": st.one_of(st.text(max_size=40), st.integers(), st.none(), st.just("REQ")),
    "k": st.one_of(st.sampled_from(["email", "phone", "new_email", "customer_id", "first_name"]), st.text(max_size=20),
                   st.lists(st.text(max_size=3), max_size=2)),
    "b": st.one_of(st.text(max_size=70), st.integers(), st.just("BIDX")),
})


@pytest.fixture
def held(rsp):
    """A correction of the victim's address waiting for the new one: (request id, blind index of the new one)."""
    req = rsp.rights.open("rectify", {"email": VICTIM}, verified_by="staff", changes={"email": ATTACKER})
    rsp.rights.process(req.id)
    return req.id, rsp.fields.blind_index(ATTACKER, kind="email")


@settings(max_examples=80)
@given(payload=payloads, method=st.sampled_from(["GET", "POST"]))
def test_any_other_signed_payload_is_a_4xx_and_confirms_nothing(rsp, held, payload, method):
    rid, bidx = held
    payload = {k: rid if v == "REQ" else bidx if v == "BIDX" else v for k, v in payload.items()}
    assume(not (payload.get("r") == rid and payload.get("k") == "email" and payload.get("b") == bidx))
    resp = page(rsp, "verify_new", method, rsp.rights.identifier_changes._signer.sign(payload))
    assert 400 <= resp.status < 500 and b"<script" not in resp.body
    with rsp.store.begin(write=False) as conn:
        assert conn.execute(select(identifiers.c.verified_at).where(
            identifiers.c.request_id == rid, identifiers.c.kind == "new_email")).scalar_one() is None
    assert rsp.rights.get(rid).state == "awaiting_new"


def test_names_keep_the_one_confirmation_flow(rsp, mailbox, shop):
    req = rsp.rights.open("rectify", {"email": VICTIM}, changes={"first_name": "Vicky", "email": VICTIM})
    verify_all(rsp, mailbox, req.id)
    html = page(rsp, "verify", "GET", mailbox.link("verify", req.id)).body.decode()
    assert "Confirm only if" not in html and "<bdi>V***</bdi>" in html
    rsp.run_due()
    assert rsp.rights.get(req.id).state == "done" and not mailbox.of("verify_new")
    assert not mailbox.of("identifier_changed")  # the address stays: nothing to tell
    with shop.connect() as conn:
        assert conn.execute(select(accounts.c.name)).scalar_one() == "Vicky"


def test_a_phone_nothing_finds_people_by_is_corrected_in_one_step(rsp, mailbox, shop):
    """The accounts table finds people by e-mail; its phone column is contact data, like a name."""
    req = rsp.rights.open("rectify", {"email": VICTIM}, verified_by="shop-login", changes={"phone": "+447700900123"})
    assert rsp.rights.process(req.id).state == "done"
    rsp.outbox.deliver_due()
    assert not mailbox.of("verify_new") and not mailbox.of("identifier_changed")
    with shop.connect() as conn:
        stored = conn.execute(select(accounts.c.phone)).scalar_one()
    assert rsp.fields.decrypt(stored, context="shop_accounts.phone", row="1") == "+447700900123"


def test_a_new_phone_is_confirmed_by_text_where_a_source_finds_people_by_it(rsp, mailbox, shop, db_url):
    club = Table("shop_sms_club", MetaData(), Column("id", Integer, primary_key=True),
                 Column("phone", String(40), unique=True))
    engine = create_engine(db_url)
    club.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(club).values(id=1, phone="+33612345678"))
    rsp.rights.register_source(TableSource("sms_club", engine, club, subject_column="phone", match="phone",
                                           fields=("phone",), rectify={"phone": "phone"}))
    req = rsp.rights.open("rectify", {"email": VICTIM, "phone": "+33 6 12 34 56 78"}, verified_by="shop-login",
                          changes={"phone": "+44 7700 900123"})
    assert rsp.rights.process(req.id).state == "awaiting_new"
    rsp.outbox.deliver_due()
    [text] = mailbox.of("verify_new", req.id)
    assert text.channel == "sms" and text.to == "+447700900123"
    assert text.changes == (MaskedChange("phone", "+*********78", "+**********23", needs_proof=True),)
    with engine.connect() as conn:
        assert conn.execute(select(club.c.phone)).scalar_one() == "+33612345678"
    assert page(rsp, "verify_new", "POST", text.link).status == 200
    assert rsp.rights.process(req.id).state == "done"
    rsp.outbox.deliver_due()
    [told] = mailbox.of("identifier_changed", req.id)
    assert told.to == "+33612345678" and told.channel == "sms"  # the previous phone is told
    with engine.connect() as conn:
        assert conn.execute(select(club.c.phone)).scalar_one() == "+447700900123"
    engine.dispose()


def test_a_new_address_for_a_request_made_by_phone_tells_the_requester(rsp, mailbox, shop):
    req = rsp.rights.open("rectify", {"phone": "+33612345678"}, verified_by="shop-login",
                          changes={"email": "vic@example.org"})
    assert rsp.rights.process(req.id).state == "awaiting_new"
    confirm_new(rsp, mailbox, req.id)
    assert rsp.rights.process(req.id).state == "done"
    rsp.outbox.deliver_due()
    [told] = mailbox.of("identifier_changed", req.id)  # no previous address known: the requester's phone
    assert told.to == "+33612345678" and told.changes[0] == MaskedChange("email", None, "v***@e******.org", True)


def test_an_unconfirmed_new_address_links_the_request_to_nobody(rsp, mailbox, shop):
    """The new address's owner (here the stranger) erasing "their" data must not close or wipe the victim's
    request, nor see it in an export, while it waits for them."""
    req = rsp.rights.open("rectify", {"email": VICTIM}, verified_by="shop-login", changes={"email": ATTACKER})
    rsp.rights.process(req.id)
    erase = rsp.rights.open("erase", {"email": ATTACKER}, verified_by="staff")
    assert rsp.rights.process(erase.id).state == "done"
    assert rsp.rights.get(req.id).state == "awaiting_new"
    with rsp.store.begin() as conn:
        values = conn.execute(select(identifiers.c.value).where(identifiers.c.request_id == req.id)).scalars().all()
    assert all(v is not None for v in values)
    assert login(rsp, shop, VICTIM) == 1


def test_an_extension_while_waiting_sends_no_second_link(rsp, mailbox, shop):
    req = rsp.rights.open("rectify", {"email": VICTIM}, verified_by="shop-login", changes={"email": ATTACKER})
    rsp.rights.process(req.id)
    assert rsp.rights.extend(req.id, "waiting for the new address").state == "extended"
    counts = rsp.run_due().tasks["rights"]
    assert counts["waiting"] == 1 and rsp.rights.get(req.id).state == "awaiting_new"
    assert len(mailbox.of("verify_new", req.id)) == 1 and login(rsp, shop, VICTIM) == 1
    assert page(rsp, "verify_new", "POST", mailbox.link("verify_new", req.id)).status == 200
    rsp.run_due()
    assert rsp.rights.get(req.id).state == "done" and login(rsp, shop, ATTACKER) == 1
