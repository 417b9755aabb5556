"""Which proxy a provider call goes through, read from the environment as curl and httpx do.

``http_proxy`` / ``https_proxy`` name the proxy for that scheme of the provider's URL and
``all_proxy`` the one for both; ``no_proxy`` lists the hosts reached directly. Lower case
wins over upper case and an empty lower-case value unsets the variable (as Python's
``urllib.request.getproxies``, which httpx uses); ``HTTP_PROXY`` in upper case is ignored
when ``REQUEST_METHOD`` is set (a CGI request could set it: "httpoxy").

``no_proxy`` entries, comma separated, case-insensitive: ``*`` (every host), a host name
(``example.com`` matches it and every subdomain, ``www.example.com``, never
``notexample.com``; a leading ``.`` or ``*.`` means the same), an IP address or a CIDR
network (``10.0.0.0/8``), each optionally with ``:port`` (then only that port), or with a
scheme (``http://example.com``: only for that scheme).
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

import httpx

__all__ = ["Proxy", "ProxyRules"]

SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Proxy:
    """A proxy URL and the variable it came from (both for messages)."""

    url: httpx.URL
    variable: str

    @property
    def address(self) -> tuple[str, int]:
        return self.url.host, self.url.port or (443 if self.url.scheme == "https" else 80)

    def shown(self) -> str:
        """The proxy for a message: no user name or password in it."""
        host, port = self.address
        return f"{self.url.scheme}://{host}:{port} (from {self.variable})"

    def authorization(self) -> list[tuple[bytes, bytes]]:
        """``Proxy-Authorization`` from the URL's user:password, as curl sends it."""
        if not self.url.username and not self.url.password:
            return []
        pair = f"{unquote(self.url.username)}:{unquote(self.url.password)}".encode()
        return [(b"Proxy-Authorization", b"Basic " + base64.b64encode(pair))]


@dataclass(frozen=True)
class _Bypass:
    """One ``no_proxy`` entry."""

    host: str  # a name (matched with its subdomains), an address, or "" for a network
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None
    scheme: str | None = None

    @classmethod
    def parse(cls, entry: str) -> _Bypass:
        scheme, sep, rest = entry.partition("://")
        if not sep:
            scheme, rest = "", entry
        rest = rest.rstrip("/")
        port: int | None = None
        head, colon, tail = rest.rpartition(":")
        if colon and tail.isdigit() and (head.endswith("]") or ":" not in head):
            rest, port = head, int(tail)  # host:port or [v6]:port, not a bare IPv6 address
        host = rest.strip("[]").lower().removeprefix("*.").lstrip(".")
        try:
            network = ipaddress.ip_network(host, strict=False)
        except ValueError:
            network = None
        return cls(host, network, port, scheme.lower() or None)

    def matches(self, scheme: str, host: str, port: int) -> bool:
        if self.scheme is not None and self.scheme != scheme:
            return False
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(host) in self.network
            except ValueError:
                return False
        return host == self.host or host.endswith("." + self.host)


class ProxyRules:
    """The proxy (or None: direct) for each provider origin."""

    def __init__(self, proxies: Mapping[str, Proxy], bypass: list[_Bypass], everything: bool):
        self._proxies = dict(proxies)
        self._bypass = bypass
        self._everything = everything  # no_proxy=*

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ProxyRules:
        found = {key: _variable(environ, key) for key in ("http", "https", "all", "no")}
        proxies = {}
        for scheme in SCHEMES:
            name, value = found[scheme] if found[scheme][1] else found["all"]
            if value:
                url = value if "://" in value else f"http://{value}"
                proxies[scheme] = Proxy(httpx.URL(url), name)
        entries = [e.strip() for e in found["no"][1].split(",") if e.strip()]
        return cls(proxies, [_Bypass.parse(e) for e in entries], "*" in entries)

    def for_origin(self, scheme: str, host: str, port: int) -> Proxy | None:
        proxy = self._proxies.get(scheme)
        if proxy is None or self._everything:
            return None
        host = host.lower().rstrip(".")
        if any(entry.matches(scheme, host, port) for entry in self._bypass):
            return None
        return proxy


def _variable(environ: Mapping[str, str], key: str) -> tuple[str, str]:
    """(the variable's name, its value) for ``<key>_proxy``; lower case first."""
    lower, upper = f"{key}_proxy", f"{key.upper()}_PROXY"
    if lower in environ:
        return lower, environ[lower].strip()
    if key == "http" and "REQUEST_METHOD" in environ:
        return upper, ""
    return upper, environ.get(upper, "").strip()
