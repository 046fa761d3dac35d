"""Where NGSI-LD notifications may go: public http(s) addresses only, checked at every send.

A subscription names its endpoint by URL. The server resolves the host itself, refuses any
address that is not on the public internet (no server-side requests into the city's own
network or the cloud's metadata service), and sends to the address it checked, so a name
that resolves elsewhere a moment later (DNS rebinding) changes nothing.
``DATATORG_NGSI_NOTIFY_PRIVATE_HOSTS`` turns the check off (tests, closed networks).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlparse

from datatorg.settings import Settings


class Refused(Exception):
    """The endpoint's address may not be notified (a private or local network)."""


def blocked(address: str) -> bool:
    """Whether an IP address is not on the public internet: private, loopback, link-local
    (169.254.169.254, cloud metadata), shared (100.64/10), reserved, multicast, unspecified,
    or an IPv4 address wrapped in IPv6 that is one of these."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def target(uri: str, settings: Settings) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Where to POST a notification: the URL with its host resolved once, every address
    checked, and the request pinned to the first (``Host`` header and TLS server name keep
    the name). Checked at every send, not only when the subscription was made: a name that
    did not resolve then, or resolves elsewhere now (DNS rebinding), must not reach the
    city's own network. ``DATATORG_NGSI_NOTIFY_PRIVATE_HOSTS`` turns the check off."""
    if settings.ngsi_notify_private_hosts:
        return uri, {}, {}
    parsed = urlparse(uri)
    host = parsed.hostname or ""
    https = parsed.scheme == "https"
    try:
        port = parsed.port or (443 if https else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError):
        raise Refused("the endpoint's host name does not resolve") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or any(blocked(a) for a in addresses):
        raise Refused("the endpoint's address is on a private network")
    pinned = addresses[0].split("%")[0]
    netloc = f"[{pinned}]" if ":" in pinned else pinned
    if parsed.port:
        netloc += f":{parsed.port}"
    url = parsed._replace(netloc=netloc).geturl()
    host_header = parsed.netloc.rsplit("@", 1)[-1]
    return url, {"Host": host_header}, ({"sni_hostname": host} if https else {})
