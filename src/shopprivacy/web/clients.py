"""The client's address behind reverse proxies: the peer address, unless the peer is a trusted proxy; then the
address that proxy forwarded (``X-Forwarded-For`` or RFC 7239 ``Forwarded``), and so on down the chain.

Every proxy appends the address it received the request from, so the chain is read from the nearest hop
outwards and the first hop that is not a trusted proxy is the client. Entries further out were written by that
client and are never believed: a spoofed header from an untrusted peer changes nothing.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address

from .http import Request
from .settings import WebSettings

IPAddress = IPv4Address | IPv6Address
#: Entries of a forwarding header read from the nearest end (a longer chain is cut: the rest is the client's).
MAX_HOPS = 32


def parse_ip(text: str | None) -> IPAddress | None:
    """The address in a forwarded entry (``1.2.3.4``, ``1.2.3.4:80``, ``[2001:db8::1]:443``, ``"..."``), or
    None for anything else (``unknown``, obfuscated ``_names``, zoned addresses, garbage). IPv4-mapped IPv6
    reads as IPv4."""
    if not text:
        return None
    value = text.strip().strip('"').strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(addr, IPv6Address):
        if addr.scope_id is not None:  # a link-local "%zone" is no client address
            return None
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
    return addr


def forwarded_for(value: str | None, header: str) -> list[str | None]:
    """The ``for`` entries of a forwarding header, outermost first (None for an element without one)."""
    if not value:
        return []
    elements = value.split(",")[-MAX_HOPS:]
    if header == "x-forwarded-for":
        return [e.strip() for e in elements]
    out: list[str | None] = []
    for element in elements:
        found = None
        for pair in element.split(";"):
            name, sep, val = pair.partition("=")
            if sep and name.strip().lower() == "for":
                found = val.strip()
        out.append(found)
    return out


def client_address(req: Request, settings: WebSettings) -> str | None:
    """The client's address for ``req`` (see the module's docstring); the peer address when no proxy is
    trusted. A forwarded entry that is not an address stops the walk at the last trusted hop."""
    hops, networks = settings.trusted_proxy_hops, settings.trusted_proxies
    if not hops and not networks:
        return req.remote_addr
    chain = [*forwarded_for(req.header(settings.proxy_header), settings.proxy_header), req.remote_addr]
    client = req.remote_addr
    for distance, entry in enumerate(reversed(chain)):
        addr = parse_ip(entry)
        if addr is None and distance > 0:
            return client
        if addr is not None:
            client = str(addr)
        trusted = distance < hops or (addr is not None and any(addr in net for net in networks))
        if not trusted:
            return client
    return client

