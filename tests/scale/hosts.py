"""Several hosts on one machine: Linux network namespaces, each joined to this (the root)
namespace by a veth pair (iproute2, as root). A host has its own loopback and its own
address; it reaches the root namespace, where the load balancer and the shared services
run, at its link's far end (``gateway``), and nothing else. Traffic stays inside these
links and loopback.

PostgreSQL (and Redis) listen on 127.0.0.1 here, so each host reaches them through a
:mod:`relay <scale.relay>` on its gateway address; stopping a host's relay partitions that
host from the service while every other host keeps it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

RELAY = Path(__file__).with_name("relay.py")


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)


def unavailable() -> str | None:
    """None when namespaces can be made here, else why not (for a visible skip)."""
    if shutil.which("ip") is None:
        return "needs iproute2's `ip` (apt-get install iproute2)"
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    probe = f"mwprobe{os.getpid()}"
    made = _ip("netns", "add", probe)
    if made.returncode != 0:
        return f"`ip netns add` failed here: {made.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


@dataclass
class Host:
    """One host: a namespace ``name`` at ``address``, reaching the root at ``gateway``."""

    name: str
    address: str
    gateway: str
    link: str  # the root namespace's end of its veth pair
    relays: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    def argv(self, *command: str) -> list[str]:
        """``command`` run on this host."""
        return ["ip", "netns", "exec", self.name, *command]

    def reach(self, port: int, target_port: int | None = None) -> str:
        """Make the root's ``127.0.0.1:target_port`` reachable from this host at
        ``gateway:port`` (a relay); the address to use from here."""
        proc = subprocess.Popen(
            [sys.executable, str(RELAY), self.gateway, str(port), "127.0.0.1",
             str(target_port or port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"relaying":
            proc.kill()
            raise AssertionError(f"the relay to {self.gateway}:{port} did not start")
        self.relays[port] = proc
        return f"{self.gateway}:{port}"

    def cut(self, port: int) -> None:
        """This host loses what it reached at ``gateway:port`` (its relay stops)."""
        proc = self.relays.pop(port)
        proc.kill()
        proc.wait(timeout=10)


def _free_block() -> int:
    """A second octet X whose 10.X.0.0/16 no interface here uses (another test process may
    have hosts of its own)."""
    used = _ip("-4", "-o", "addr", "show").stdout
    start = os.getpid() % 100
    for offset in range(100):
        block = 100 + (start + offset) % 100
        if f" 10.{block}." not in used:
            return block
    raise RuntimeError("no free 10.X.0.0/16 block for test hosts")


def make_hosts(names: list[str]) -> list[Host]:
    """A namespace per name, linked to the root namespace: host ``i`` is 10.X.i.2, its
    gateway 10.X.i.1, where X is a block no other interface here uses."""
    tag = f"{os.getpid() % 100_000}"
    block = _free_block()
    hosts: list[Host] = []
    try:
        for i, short in enumerate(names):
            name = f"mw{tag}{short}"
            outer, inner = f"v{tag}{i}o", f"v{tag}{i}i"  # interface names: 15 bytes at most
            gateway, address = f"10.{block}.{i}.1", f"10.{block}.{i}.2"
            for args in (
                ["netns", "add", name],
                ["link", "add", outer, "type", "veth", "peer", "name", inner],
                ["link", "set", inner, "netns", name],
                ["addr", "add", f"{gateway}/24", "dev", outer],
                ["link", "set", outer, "up"],
                ["-n", name, "addr", "add", f"{address}/24", "dev", inner],
                ["-n", name, "link", "set", inner, "up"],
                ["-n", name, "link", "set", "lo", "up"],
            ):
                done = _ip(*args)
                if done.returncode != 0:
                    raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
            hosts.append(Host(name, address, gateway, outer))
    except BaseException:
        remove_hosts(hosts)
        raise
    return hosts


def remove_hosts(hosts: list[Host]) -> None:
    """Stop each host's relays and delete its namespace (which deletes its link)."""
    for host in hosts:
        for port in list(host.relays):
            host.cut(port)
        _ip("link", "del", host.link)  # both ends at once (a namespace dies asynchronously)
        _ip("netns", "del", host.name)


def wait_until(predicate: object, timeout: float, what: str) -> float:
    """Poll ``predicate`` (a callable) every 20 ms; the seconds it took. A deadline against
    hanging, and the measured delay a scenario reports."""
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise AssertionError(f"still not true after {timeout:g} s: {what}")
        time.sleep(0.02)
    return time.monotonic() - started
