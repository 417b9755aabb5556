"""Provider calls honour HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY, as httpx and curl do.

A real proxy on 127.0.0.1, written here: it forwards absolute-URI requests (http providers)
and tunnels CONNECT (https providers), records what it carried, and reaches every host it is
asked for at 127.0.0.1, so a provider named ``provider.corp.test`` is reachable through it
and nowhere else. The https provider is the fake behind a TLS relay whose self-signed
certificate (made with the openssl command) is trusted through SSL_CERT_FILE.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from llm.helpers import read_head
from modelward.errors import ProviderError
from modelward.llm.config import ProviderConfig
from modelward.llm.fake import FakeBehaviour, FakeModel, FakeServer
from modelward.llm.providers import make_provider
from modelward.llm.providers.proxy import ProxyRules

pytestmark = pytest.mark.sqlite_only

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
ANSWER = "The capital of France is Paris"
PROXY_VARIABLES = [f"{key}_proxy" for key in ("http", "https", "all", "no")] + [
    f"{key}_PROXY" for key in ("HTTP", "HTTPS", "ALL", "NO")
]


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Bytes both ways until either side closes."""
    while True:
        ready, _, _ = select.select([a, b], [], [], 30)
        if not ready:
            return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


class RecordingProxy:
    """A forwarding and CONNECT proxy on 127.0.0.1 that records (method, target, auth)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        self.refuse: str | None = None  # a status line to answer everything with
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                client: socket.socket = self.request
                received = read_head(client)
                if received is None:
                    return
                head, rest = received.split(b"\r\n\r\n", 1)
                first, *lines = head.decode("latin-1").split("\r\n")
                method, target, _ = first.split(" ")
                headers = dict(line.split(": ", 1) for line in lines)
                auth = next(
                    (v for k, v in headers.items() if k.lower() == "proxy-authorization"), None
                )
                proxy.seen.append((method, target, auth))
                if proxy.refuse is not None:
                    client.sendall(f"HTTP/1.1 {proxy.refuse}\r\nContent-Length: 0\r\n\r\n".encode())
                    return
                if method == "CONNECT":
                    port = int(target.rsplit(":", 1)[1])
                    upstream = socket.create_connection(("127.0.0.1", port))
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                else:  # absolute form: pass it on in origin form, one request per connection
                    url = urlsplit(target)
                    upstream = socket.create_connection(("127.0.0.1", url.port or 80))
                    kept = [
                        f"{k}: {v}"
                        for k, v in headers.items()
                        if k.lower() not in {"connection", "proxy-authorization"}
                    ]
                    path = url.path + (f"?{url.query}" if url.query else "")
                    upstream.sendall(
                        "\r\n".join(
                            [f"{method} {path} HTTP/1.1", *kept, "Connection: close"]
                        ).encode("latin-1")
                        + b"\r\n\r\n"
                        + rest
                    )
                with upstream:
                    _pipe(client, upstream)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class TLSRelay:
    """TLS on 127.0.0.1 in front of a plain-http server (the fake providers)."""

    def __init__(self, backend_port: int, cert: Path, key: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    client = context.wrap_socket(self.request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                # the wrapped socket owns the connection now: socketserver closes only
                # self.request, so closing it is ours (else it is left to the collector)
                with client, socket.create_connection(("127.0.0.1", backend_port)) as upstream:
                    _pipe(client, upstream)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TLSRelay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy_of_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [*PROXY_VARIABLES, "REQUEST_METHOD"]:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    behaviour = FakeBehaviour(models={"m": FakeModel()}, answers={QUESTION[0]["content"]: ANSWER})
    with FakeServer(behaviour) as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    with RecordingProxy() as running:
        yield running


@pytest.fixture
def tls(server: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TLSRelay]:
    """The fake providers at https://localhost:<port>, their certificate trusted."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with TLSRelay(server.port, cert, key) as relay:
        yield relay


async def _call(kind: str, base_url: str, *, stream: bool = False) -> str:
    config = ProviderConfig(kind=kind, base_url=base_url, max_retries=0, timeout_s=10)
    provider = make_provider(kind, config)
    try:
        if stream:
            pieces = [p async for p in provider.stream("m", QUESTION, {})]
            return "".join(p for p in pieces if isinstance(p, str))
        return (await provider.chat("m", QUESTION, {})).text
    finally:
        await provider.aclose()


def _chat(base_url: str, kind: str = "openai", *, stream: bool = False) -> str:
    return asyncio.run(_call(kind, base_url, stream=stream))


def test_http_proxy_carries_provider_calls(server, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    assert _chat(server.openai_url) == ANSWER
    assert _chat(server.anthropic_url, "anthropic", stream=True) == ANSWER
    assert proxy.seen == [
        ("POST", f"{server.openai_url}/chat/completions", None),
        ("POST", f"{server.anthropic_url}/v1/messages", None),
    ]
    # a name only the proxy can resolve: the call cannot have gone around it
    named = f"http://provider.corp.test:{server.port}/v1"
    assert _chat(named) == ANSWER
    assert proxy.seen[-1][:2] == ("POST", f"{named}/chat/completions")


def test_the_proxy_gets_the_credentials_of_its_url_and_messages_never_show_them(
    server, proxy, monkeypatch
):
    monkeypatch.setenv("http_proxy", f"http://ops:p%40ss@127.0.0.1:{proxy.port}")
    assert _chat(server.openai_url) == ANSWER
    assert proxy.seen[0][2] == "Basic " + base64.b64encode(b"ops:p@ss").decode()


def test_https_providers_are_tunnelled_with_connect(tls, proxy, monkeypatch):
    url = f"https://localhost:{tls.port}/v1"
    monkeypatch.setenv("HTTP_PROXY", proxy.url)  # for http:// only
    assert _chat(url) == ANSWER
    assert proxy.seen == []
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    assert _chat(url) == ANSWER
    assert _chat(url, stream=True) == ANSWER
    assert [(m, t) for m, t, _ in proxy.seen] == [("CONNECT", f"localhost:{tls.port}")] * 2


def test_a_tunnel_closed_mid_stream_leaves_no_socket_to_the_collector(tls, proxy, monkeypatch):
    """A stream ends at ``[DONE]``, before the body does: the tunnelled TLS connection is
    discarded just as the event loop ends. Its socket must be closed then, not left to the
    garbage collector (an "unclosed transport" ResourceWarning in whichever test runs next).
    """
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    url = f"https://localhost:{tls.port}/v1"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for _ in range(5):
            assert _chat(url, stream=True) == ANSWER
            gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def test_https_proxy_is_not_used_for_http_providers_and_all_proxy_is_for_both(
    server, proxy, monkeypatch
):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    assert _chat(server.openai_url) == ANSWER
    assert proxy.seen == []
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    assert _chat(server.openai_url) == ANSWER
    assert len(proxy.seen) == 1


@pytest.mark.parametrize(
    ("no_proxy", "host"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.0/8", "127.0.0.1"),
        ("localhost", "localhost"),
        ("example.org, LOCALHOST", "localhost"),
        ("*", "localhost"),
    ],
)
def test_no_proxy_matching_the_host_goes_direct(server, proxy, monkeypatch, no_proxy, host):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert _chat(f"http://{host}:{server.port}/v1") == ANSWER
    assert proxy.seen == []
    monkeypatch.setenv("NO_PROXY", "localhost" if host == "127.0.0.1" else "127.0.0.1")
    assert _chat(f"http://{host}:{server.port}/v1") == ANSWER  # a name is not its address
    assert len(proxy.seen) == 1


@pytest.mark.parametrize(
    "no_proxy", ["corp.test", ".corp.test", "*.corp.test", "provider.corp.test"]
)
def test_no_proxy_domains_match_the_host_and_its_subdomains(server, proxy, monkeypatch, no_proxy):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("no_proxy", no_proxy)
    with pytest.raises(ProviderError, match="check base_url"):  # direct: no such host
        _chat(f"http://provider.corp.test:{server.port}/v1")
    assert proxy.seen == []


@pytest.mark.parametrize("no_proxy", ["orp.test", "notcorp.test", "corp.test.evil", "corp.test:1"])
def test_no_proxy_is_never_a_prefix_or_substring_match(server, proxy, monkeypatch, no_proxy):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert _chat(f"http://provider.corp.test:{server.port}/v1") == ANSWER
    assert len(proxy.seen) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_proxy_that_is_down_is_a_one_line_unreachable_error_naming_it(server, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://ops:hunter2@127.0.0.1:{port}")
    monkeypatch.setenv("HTTP_PROXY", f"http://ops:hunter2@127.0.0.1:{port}")
    for url in (server.openai_url, f"https://localhost:{server.port}/v1"):
        with pytest.raises(ProviderError) as caught:
            _chat(url)
        message = caught.value.message
        assert f"unreachable through proxy http://127.0.0.1:{port} (from " in message
        assert "NO_PROXY" in message and "\n" not in message
        assert "hunter2" not in message and "ops:" not in message


def test_llm_health_through_a_proxy_that_is_down(llm_ws, cli, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("HTTP_PROXY", f"127.0.0.1:{port}")  # no scheme: http://, as curl
    ran = cli("llm", "health", "--provider", "openai")
    assert ran.exit_code == 1
    assert f"through proxy http://127.0.0.1:{port} (from HTTP_PROXY)" in ran.stderr
    assert "Traceback" not in ran.stderr
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert cli("llm", "health", "--provider", "openai").exit_code == 0


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_proxy_asking_for_credentials_says_so(server, proxy, monkeypatch, scheme):
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    proxy.refuse = "407 Proxy Authentication Required"
    with pytest.raises(ProviderError) as caught:
        _chat(f"{scheme}://localhost:{server.port}/v1")
    assert f"through proxy {proxy.url} (from ALL_PROXY): " in caught.value.message
    assert "407" in caught.value.message
    assert "it wants credentials: put user:password@ in the proxy URL" in caught.value.message
    proxy.refuse = "403 Forbidden"
    if scheme == "https":
        with pytest.raises(
            ProviderError, match=r"CONNECT to localhost:\d+ was refused \(HTTP 403\)"
        ):
            _chat(f"https://localhost:{server.port}/v1")


def test_a_proxy_this_transport_cannot_speak_is_named(server, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(
        ProviderError, match=r"proxy socks5://127.0.0.1:1080 \(from ALL_PROXY\): not an http://"
    ):
        _chat(server.openai_url)


# -- which proxy, read from the environment ----------------------------------------------


def _route(environ: dict[str, str], url: str) -> str | None:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    proxy = ProxyRules.from_environment(environ).for_origin(parts.scheme, parts.hostname, port)
    return None if proxy is None else str(proxy.url)


@pytest.mark.parametrize(
    ("environ", "url", "expected"),
    [
        ({"HTTP_PROXY": "http://p:1"}, "http://a.test/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1"}, "https://a.test/", None),
        ({"HTTPS_PROXY": "p:2"}, "https://a.test/", "http://p:2"),
        ({"ALL_PROXY": "http://p:3", "HTTP_PROXY": "http://p:1"}, "http://a.test/", "http://p:1"),
        ({"ALL_PROXY": "http://p:3"}, "https://a.test/", "http://p:3"),
        # lower case wins; an empty lower-case value unsets the variable
        (
            {"http_proxy": "http://lo:1", "HTTP_PROXY": "http://UP:1"},
            "http://a.test/",
            "http://lo:1",
        ),
        ({"http_proxy": "", "HTTP_PROXY": "http://UP:1"}, "http://a.test/", None),
        # httpoxy: a CGI request's Proxy header must not route our calls
        ({"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}, "http://a.test/", None),
        ({"http_proxy": "http://p:1", "REQUEST_METHOD": "GET"}, "http://a.test/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "A.Test"}, "http://a.test/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.test"}, "http://x.a.test/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.test"}, "http://xa.test/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "x.a.test"}, "http://a.test/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": " b.test , a.test "}, "http://a.test/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.test:8080"}, "http://a.test:8080/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "a.test:8080"}, "http://a.test/", "http://p:1"),
        (
            {"HTTP_PROXY": "http://p:1", "NO_PROXY": "https://a.test"},
            "http://a.test/",
            "http://p:1",
        ),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "https://a.test"}, "https://a.test/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, "http://10.1.2.3/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "10.0.0.0/8"}, "http://11.1.2.3/", "http://p:1"),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "::1"}, "http://[::1]:8000/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "[::1]:8000"}, "http://[::1]:8000/", None),
        ({"HTTP_PROXY": "http://p:1", "NO_PROXY": "localhost"}, "http://127.0.0.1/", "http://p:1"),
    ],
)
def test_which_proxy_a_url_takes(environ, url, expected):
    assert _route(environ, url) == expected
