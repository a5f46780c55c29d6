"""Keys of rate limits: what counts as "the same address" or "the same client" when limiting requests.

These forms are for limit keys only, never for the identity that is stored, looked up or mailed: two variants
of an address reach one mailbox, so they share one limit, but each stays the address the person gave.
"""

from __future__ import annotations

import ipaddress

from .fields.blind_index import normalise

#: Domains whose mailboxes ignore dots in the local part (and the second is an alias of the first).
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox(address: str) -> str:
    """The mailbox an e-mail address delivers to: casefolded and trimmed, ``+tag`` removed from the local part,
    dots removed for Gmail (``J.Ane+news@GoogleMail.com`` -> ``jane@gmail.com``). InvalidInput when it is not
    an address."""
    local, _, domain = normalise(address, "email").rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in DOTLESS_DOMAINS:
        local, domain = local.replace(".", "") or local, DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def client_network(ip: str) -> str:
    """The part of a client address a per-IP limit counts: the address for IPv4, its /64 for IPv6 (one line
    gets a whole /64, so single IPv6 addresses would cost an attacker nothing). Anything else as given."""
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)
