"""A server bound beyond loopback always needs a token, even after the last is revoked.

The server is a real ``modelward serve`` process bound to one of this machine's own
non-loopback addresses when it has one, else to 0.0.0.0; either way the test connects
only to an address of this machine.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from conftest import FEATURES
from modelward.serving.run import is_loopback

pytestmark = pytest.mark.sqlite_only


def _own_address() -> tuple[str, str]:
    """(address to bind, address to connect to): a non-loopback one of this machine."""
    found = set()
    try:
        found |= {i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as route:
        try:  # a UDP "connect" sends nothing; it asks which local address has a route out
            route.connect(("192.0.2.1", 9))
            found.add(route.getsockname()[0])
        except OSError:
            pass
    for address in sorted(found):
        if is_loopback(address):
            continue
        with socket.socket() as probe:
            try:
                probe.bind((address, 0))
            except OSError:
                continue
        return address, address
    return "0.0.0.0", "127.0.0.1"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.7", False),
        ("no-such-host.invalid", False),
    ],
)
def test_what_counts_as_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_revoking_every_token_leaves_a_server_beyond_loopback_closed(
    deployed, start_server, cleveland
):
    from modelward.http.tokens import create_token, revoke_token

    bind, connect = _own_address()
    _, secret = create_token(deployed.db, "app", ["predict"])
    server = start_server("--host", bind)
    port = server.url.rsplit(":", 1)[1]
    url = f"http://{connect}:{port}/v1/models/heart/predict"
    row = {"inputs": cleveland[FEATURES].fillna(0).iloc[0].to_dict()}
    good = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(timeout=30) as http:
        first = http.post(url, json=row, headers=good)
        assert first.status_code == 200 and first.json()["version"] == 1
        assert http.post(url, json=row).status_code == 401
        revoke_token(deployed.db, "app")
        # A deployment change read in the same poll as the revocation tells us the
        # server has seen it: until then the old token still gets version 1.
        deployed.deployments.deploy("heart", 2, "production", reason="test")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answer = http.post(url, json=row, headers=good)
            if not (answer.status_code == 200 and answer.json()["version"] == 1):
                break
            time.sleep(0.05)
        assert answer.status_code == 401, answer.text
        assert http.post(url, json=row).status_code == 401
        assert http.get(f"http://{connect}:{port}/healthz").status_code == 200
    assert server.stop() == 0


def test_a_server_beyond_loopback_with_only_revoked_tokens_does_not_start(deployed, cli):
    from modelward.http.tokens import create_token, revoke_token

    create_token(deployed.db, "app", ["predict"])
    revoke_token(deployed.db, "app")
    ran = cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert ran.exit_code == 2 and ran.stderr.count("\n") == 1
    assert "refusing to serve on 0.0.0.0 without API tokens" in ran.stderr


def test_there_is_no_flag_to_serve_beyond_loopback_without_tokens(deployed, start_server):
    server = start_server("--host", "0.0.0.0", "--insecure", wait_ready=False)
    assert server.proc.wait(timeout=60) == 2
    assert "--insecure" in server.output()
