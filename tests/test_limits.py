"""Keys of rate limits (shopprivacy.limits): the variants of one mailbox, and the addresses of one IPv6 /64,
count as one."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import InvalidInput
from shopprivacy.limits import client_network, mailbox


def test_plus_tags_case_and_gmail_dots_reach_one_mailbox():
    assert mailbox("  Jane+News@Example.COM ") == "jane@example.com"
    assert mailbox("j.a.n.e+1@gmail.com") == mailbox("JANE@googlemail.com") == "jane@gmail.com"
    assert mailbox("j.ane@example.com") == "j.ane@example.com"  # dots count elsewhere
    assert mailbox("+tag@example.com") == "+tag@example.com"  # nothing before the tag: kept whole
    with pytest.raises(InvalidInput):
        mailbox("not an address")


def test_ipv6_clients_count_by_their_64():
    assert client_network("2001:db8:1:2:aaaa::1") == client_network("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_network("2001:db8:1:3::1") != client_network("2001:db8:1:2::1")
    assert client_network("203.0.113.9") == "203.0.113.9" and client_network("::ffff:203.0.113.9") == "203.0.113.9"
    assert client_network("unix-socket") == "unix-socket"


local = st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True)


@given(local=local, tag=st.from_regex(r"[a-z0-9.+-]{0,12}", fullmatch=True), dots=st.sets(st.integers(1, 11)),
       domain=st.sampled_from(["gmail.com", "googlemail.com", "GMail.com"]), upper=st.booleans())
def test_every_gmail_variant_has_the_canonical_mailbox(local, tag, dots, domain, upper):
    dotted = "".join(c + ("." if i + 1 in dots and i + 1 < len(local) else "") for i, c in enumerate(local))
    address = f"{dotted}+{tag}@{domain}"
    assert mailbox(address.upper() if upper else address) == f"{local}@gmail.com"


@given(st.emails())
def test_the_mailbox_form_is_stable(address):
    once = mailbox(address)
    assert mailbox(once) == once and once.count("@") == 1
