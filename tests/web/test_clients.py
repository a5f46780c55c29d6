"""The client's address behind reverse proxies (shopprivacy.web.clients): forwarded addresses are believed
only from trusted proxies, so a spoofed header changes nothing, and behind a proxy every visitor keeps their
own address (and their own rate limit)."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopprivacy.errors import ConfigurationError
from shopprivacy.settings import Settings
from shopprivacy.web import Request
from shopprivacy.web.clients import client_address, forwarded_for, parse_ip
from shopprivacy.web.settings import WebSettings

PROXY = WebSettings(trusted_proxies=["10.0.0.0/8", "fd00::/8"])
XFF = "X-Forwarded-For"


def req(peer, **headers):
    return Request("GET", "/privacy/rights", headers=headers, remote_addr=peer)


def test_without_trusted_proxies_forwarding_headers_are_ignored():
    assert client_address(req("198.51.100.7", **{XFF: "1.2.3.4"}), WebSettings()) == "198.51.100.7"
    assert client_address(req("198.51.100.7", Forwarded="for=1.2.3.4"), WebSettings()) == "198.51.100.7"


def test_a_trusted_proxy_names_the_client_and_an_untrusted_peer_does_not():
    assert client_address(req("10.0.0.2", **{XFF: "203.0.113.9"}), PROXY) == "203.0.113.9"
    assert client_address(req("10.0.0.2"), PROXY) == "10.0.0.2"  # no header: the proxy is all we know
    assert client_address(req("198.51.100.7", **{XFF: "203.0.113.9"}), PROXY) == "198.51.100.7"


def test_the_chain_is_read_from_the_nearest_hop_and_stops_at_the_first_untrusted_one():
    chain = "6.6.6.6, 203.0.113.9, 10.1.1.1, 10.2.2.2"  # client-written, client, two inner proxies
    assert client_address(req("10.0.0.2", **{XFF: chain}), PROXY) == "203.0.113.9"
    assert client_address(req("10.0.0.2", **{XFF: "10.9.9.9, 10.8.8.8"}), PROXY) == "10.9.9.9"


def test_hop_counting_trusts_the_nearest_hops_whatever_their_address():
    one = WebSettings(trusted_proxy_hops=1)
    assert client_address(req("192.0.2.50", **{XFF: "6.6.6.6, 203.0.113.9"}), one) == "203.0.113.9"
    two = WebSettings(trusted_proxy_hops=2)
    assert client_address(req("192.0.2.50", **{XFF: "6.6.6.6, 203.0.113.9, 192.0.2.60"}), two) == "203.0.113.9"
    assert client_address(req(None, **{XFF: "203.0.113.9"}), one) == "203.0.113.9"  # a proxy on a Unix socket


def test_rfc_7239_forwarded_is_read_when_chosen():
    fwd = WebSettings(trusted_proxies=["10.0.0.0/8"], proxy_header="forwarded")
    header = 'for=6.6.6.6;proto=https, For="[2001:db8:cafe::17]:4711";by=10.0.0.2'
    assert client_address(req("10.0.0.2", Forwarded=header, **{XFF: "7.7.7.7"}), fwd) == "2001:db8:cafe::17"
    assert client_address(req("10.0.0.2", Forwarded=header), PROXY) == "10.0.0.2"  # X-Forwarded-For was chosen
    assert client_address(req("10.0.0.2", Forwarded="for=unknown"), fwd) == "10.0.0.2"
    assert client_address(req("10.0.0.2", Forwarded="proto=https"), fwd) == "10.0.0.2"


def test_entries_are_parsed_with_ports_brackets_and_mapped_addresses():
    assert parse_ip("203.0.113.9:443") == ipaddress.ip_address("203.0.113.9")
    assert parse_ip("[2001:db8::1]:443") == ipaddress.ip_address("2001:db8::1")
    assert parse_ip("::ffff:10.0.0.2") == ipaddress.ip_address("10.0.0.2")
    assert parse_ip('"_hidden"') is None and parse_ip("") is None and parse_ip("fe80::1%eth0") is None
    assert forwarded_for("a, b ,c", "x-forwarded-for") == ["a", "b", "c"]
    assert len(forwarded_for(",".join(["1.1.1.1"] * 500), "x-forwarded-for")) == 32


def test_the_setting_is_validated_with_a_message_naming_it():
    assert Settings.from_env({"SHOPPRIVACY_WEB__TRUSTED_PROXIES": '["10.0.0.0/8", "::1/128"]',
                              "SHOPPRIVACY_WEB__TRUSTED_PROXY_HOPS": "1"}).web.trusted_proxy_hops == 1
    with pytest.raises(ConfigurationError, match="SHOPPRIVACY_WEB__TRUSTED_PROXIES"):
        Settings.from_env({"SHOPPRIVACY_WEB__TRUSTED_PROXIES": '["not-a-network"]'})


ips = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)


def untrusted(address):
    addr = parse_ip(address)
    return addr is not None and not any(addr in net for net in PROXY.trusted_proxies)


outside = ips.filter(untrusted)


@given(spoof=st.text(max_size=300), peer=outside)
def test_an_untrusted_peer_is_the_client_whatever_it_sends(spoof, peer):
    for header in ("x-forwarded-for", "forwarded"):
        settings = WebSettings(trusted_proxies=["10.0.0.0/8"], proxy_header=header)
        assert client_address(req(peer, **{XFF: spoof, "Forwarded": spoof}), settings) == str(parse_ip(peer))


@given(spoof=st.text(alphabet=st.characters(blacklist_characters=","), max_size=60).map(lambda s: s + ","),
       client=outside, proxies=st.lists(st.integers(0, 2**24 - 1), max_size=4))
def test_what_the_client_writes_before_the_proxies_entries_never_changes_the_result(spoof, client, proxies):
    inner = [str(ipaddress.ip_address(0x0A000000 + p)) for p in proxies]  # trusted 10.x proxies
    chain = ", ".join([client, *inner])
    expected = str(parse_ip(client))
    assert client_address(req("10.0.0.1", **{XFF: chain}), PROXY) == expected
    assert client_address(req("10.0.0.1", **{XFF: spoof + chain}), PROXY) == expected


@given(header=st.text(max_size=400), peer=st.one_of(st.none(), st.text(max_size=50), ips))
def test_any_header_gives_an_address_or_the_peer_never_an_error(header, peer):
    for settings in (PROXY, WebSettings(trusted_proxy_hops=3, proxy_header="forwarded")):
        got = client_address(req(peer, **{XFF: header, "Forwarded": header}), settings)
        assert got == peer or parse_ip(got) is not None
