"""The client's address, the one place it is worked out (audit log, sign-in rate limits).

Behind a reverse proxy every request arrives from the proxy, so `REMOTE_ADDR` is the proxy's
address. The proxy appends the address it received the request from to `X-Forwarded-For`, but
a client can put anything in that header before it reaches the proxy. So:

- `X-Forwarded-For` is read only when `REMOTE_ADDR` is one of `settings.TRUSTED_PROXIES`
  (environment `DJANGO_TRUSTED_PROXIES`: IP addresses or CIDR networks, default none);
- the header is read from the right, skipping trusted proxies; the first address that is not a
  trusted proxy is the client (everything left of it was written by the client and is ignored);
- if every entry is a trusted proxy, the leftmost one is the client; an entry that is not an IP
  address stops the walk and the last good address is used (never a made-up one).

See docs/security.md ("Client address behind a proxy").
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"DJANGO_TRUSTED_PROXIES: {entry!r} is not an IP address or network (e.g. 10.0.0.0/8)."
            ) from None
    return tuple(networks)


def trusted_proxies() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return _networks(tuple(e for e in getattr(settings, "TRUSTED_PROXIES", ()) if e.strip()))


def parse_ip(value: str | None) -> IPAddress | None:
    """An IP address from a header entry or REMOTE_ADDR, or None. Accepts `1.2.3.4:567`,
    `[2001:db8::1]:567` (some proxies add the port) and IPv4-mapped IPv6 (shown as IPv4)."""
    if not value:
        return None
    value = value.strip().strip('"')
    if value.startswith("["):  # [v6]:port or [v6]
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, networks) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(request) -> str | None:
    """The client's IP address as a string, or None when the request has no usable address."""
    remote = parse_ip(request.META.get("REMOTE_ADDR"))
    if remote is None:
        return None
    networks = trusted_proxies()
    if not networks or not _is_trusted(remote, networks):
        return str(remote)
    client = remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed(forwarded.split(",")):
        if not entry.strip():
            continue
        address = parse_ip(entry)
        if address is None:
            break  # a trusted proxy passed on garbage: keep the last address we could trust
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)
