"""A visitor's network address: the peer of its connection or, behind a proxy this node
trusts (``--trusted-proxies``, e.g. the proxy of compose.yaml), the client the proxy names in
``X-Forwarded-For``. An address that is only compared is kept as a keyed hash (``addr``);
the plain address is used at connect time only (address-range bans) and never stored.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 172.16.0.1"`` -> networks; ValueError names a bad entry."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if part:
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"not an address or network: {part[:64]!r}") from None
    return tuple(out)


def parse(text: str) -> Address | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # the same client whether it came over IPv4 or IPv6
    return ip


def within(ip: Address | None, nets: Sequence[Network]) -> bool:
    return ip is not None and any(ip.version == n.version and ip in n for n in nets)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then the nearest
    hop of ``X-Forwarded-For`` that is not a trusted proxy (hops further left were written by
    the client itself and prove nothing)."""
    ip = parse(peer or "")
    if ip is None:
        return "unknown"
    if not forwarded_for or not within(ip, trusted):
        return str(ip)
    for hop in reversed(forwarded_for.split(",")):
        hop_ip = parse(hop)
        if hop_ip is None:
            break  # a garbled hop: trust nothing beyond the last good one
        ip = hop_ip
        if not within(hop_ip, trusted):
            break
    return str(ip)


def hash_address(secret: str, address: str) -> str:
    """A keyed hash of an address: equal for equal addresses, not reversible without the secret
    (a dictionary attack on the 2^32 IPv4 addresses needs the key)."""
    digest = hashlib.blake2b(address.encode(), key=secret.encode()[:64], digest_size=12, person=b"vetrina-addr")
    return "h_" + digest.hexdigest()
