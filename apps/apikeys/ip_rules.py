"""A key's allowed-IP list: IP addresses and CIDR networks, IPv4 or IPv6."""

import ipaddress
from collections.abc import Iterable

MAX_ALLOWED_IPS = 100

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def normalise(value: str) -> str:
    """The stored form of one entry: `10.0.0.0/8`, or a bare address for a single host.

    Raises ValueError with a message for the client (a network with host bits
    set is refused rather than silently widened or narrowed).
    """
    text = str(value).strip()
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"'{text}' is not an IP address or a CIDR network.") from None
        raise ValueError(f"'{text}' has host bits set; did you mean '{loose}'?") from None
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def networks(entries: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def _address(ip: str):
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:192.0.2.1) is that IPv4 client.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def is_allowed(allowed_ips: list[str], ip: str) -> bool:
    """Whether a key restricted to `allowed_ips` may be used from `ip` (an empty list: any)."""
    if not allowed_ips:
        return True
    address = _address(ip)
    if address is None:
        return False
    return any(
        address.version == network.version and address in network
        for network in networks(allowed_ips)
    )


def is_narrower_or_equal(new: list[str], old: list[str]) -> bool:
    """Whether every address `new` allows was allowed by `old`."""
    if not old:
        return True
    if not new:
        return False  # an empty list allows every address
    old_networks = networks(old)
    return all(
        any(
            candidate.version == network.version and candidate.subnet_of(network)
            for network in old_networks
        )
        for candidate in networks(new)
    )
