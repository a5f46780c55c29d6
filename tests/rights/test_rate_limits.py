"""Rate limits of the privacy portal: ``+tag`` and Gmail dot variants of an address share its limit, the
addresses of one IPv6 /64 share one, and the requester's address is kept exactly as given."""

import pytest

from shopprivacy.errors import RateLimited
from shopprivacy.web import Request

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://shop.example"}
VARIANTS = ["jane.doe@gmail.com", "Jane.Doe+a@gmail.com", "janedoe+b@googlemail.com", "j.a.n.e.d.o.e@gmail.com",
            "JANEDOE+c@GMAIL.com"]


def test_variants_of_one_mailbox_share_the_identity_limit(rsp, mailbox):
    assert rsp.settings.rights.rate_limit_identity == len(VARIANTS)
    for n, address in enumerate(VARIANTS):
        rsp.rights.open("export" if n % 2 else "erase", {"email": address}, ip=f"203.0.113.{n}")
    with pytest.raises(RateLimited):
        rsp.rights.open("export", {"email": "jane.doe+again@gmail.com"}, ip="198.51.100.1")
    resp = rsp.rights_web.portal(Request("POST", "/privacy/rights", headers=FORM, remote_addr="198.51.100.2",
                                         body=b"action=preferences&email=janedoe%2Bx%40gmail.com"))
    assert resp.status == 429
    rsp.rights.open("export", {"email": "jane.doe@example.org"}, ip="198.51.100.3")  # someone else: not limited
    rsp.run_due()
    # the verification mails went to the addresses as typed: the limit key is never the identity
    assert sorted(n.to for n in mailbox.of("verify")) == sorted(a.lower() for a in [*VARIANTS, "jane.doe@example.org"])


def test_plus_tags_share_the_limit_on_every_domain(rsp):
    for n in range(rsp.settings.rights.rate_limit_identity):
        rsp.rights.preferences_notice(f"sam+{n}@example.com", ip=f"203.0.113.{n}")
    with pytest.raises(RateLimited):
        rsp.rights.preferences_notice("SAM@example.com", ip="203.0.113.99")
    rsp.rights.preferences_notice("s.am@example.com", ip="203.0.113.98")  # dots only fold for Gmail


def test_addresses_of_one_ipv6_64_share_the_ip_limit(rsp):
    limit = rsp.settings.rights.rate_limit_ip
    for n in range(limit):
        rsp.rights.open("export", {"email": f"p{n}@example.com"}, ip=f"2001:db8:7:7::{n + 1:x}")
    with pytest.raises(RateLimited):
        rsp.rights.open("export", {"email": "fresh@example.com"}, ip="2001:db8:7:7:ffff:ffff:ffff:1")
    rsp.rights.open("export", {"email": "other@example.com"}, ip="2001:db8:7:8::1")  # the next /64: its own limit
