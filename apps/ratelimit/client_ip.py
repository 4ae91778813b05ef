"""The client's IP address, as the rate limiter, API-key IP rules and logs must see it.

The connection's address, unless the connection comes from a trusted proxy
(settings.TRUSTED_PROXIES, IPs or CIDRs): then the right-most X-Forwarded-For
entry that is not itself a trusted proxy. Anything else in the header is the
client's to invent, so a forged header from elsewhere changes nothing.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=32)
def _networks(proxies: tuple[str, ...]):
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request) -> str:
    """The IP address the request came from (see the module docstring)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if not _is_trusted(remote):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed chain is not believed
        if not _is_trusted(hop):
            return hop
    return hops[0] if hops else remote
