"""Which addresses are this machine's own: a server bound to one needs no token."""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is loopback (127.0.0.0/8, ::1).

    A name is resolved; one that does not resolve, and 0.0.0.0 or ::, are not loopback.
    """
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {str(info[4][0]) for info in found}
    return bool(addresses) and all(is_loopback(address) for address in addresses)
