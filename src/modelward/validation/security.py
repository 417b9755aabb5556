"""Security of a stored model: checksum, trusted types only, no network while loading."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from modelward.errors import ArtifactDamaged, ArtifactError
from modelward.flavors import get_flavor
from modelward.flavors.trust import refused_names
from modelward.validation.checks import Check

if TYPE_CHECKING:
    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = ["NetworkBlocked", "no_network", "security_checks"]

ONNX_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")


class NetworkBlocked(OSError):
    """Raised inside :func:`no_network` when code tries to open a connection."""


@contextmanager
def no_network() -> Iterator[list[str]]:
    """Block outgoing connections (and DNS look-ups); yields the attempts made."""
    attempts: list[str] = []
    originals = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
        socket.create_connection,
    )

    def refuse(what: str) -> Any:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            target = args[1] if len(args) > 1 else args[0] if args else "?"
            attempts.append(f"{what} {target}")
            raise NetworkBlocked(f"network access blocked during model load: {what} {target}")

        return blocked

    setattr(socket.socket, "connect", refuse("connect"))  # noqa: B010
    setattr(socket.socket, "connect_ex", refuse("connect"))  # noqa: B010
    socket.getaddrinfo = refuse("getaddrinfo")
    socket.create_connection = refuse("create_connection")
    try:
        yield attempts
    finally:
        setattr(socket.socket, "connect", originals[0])  # noqa: B010
        setattr(socket.socket, "connect_ex", originals[1])  # noqa: B010
        socket.getaddrinfo = originals[2]
        socket.create_connection = originals[3]


def security_checks(ws: Workspace, info: VersionInfo) -> tuple[list[Check], dict[str, Any]]:
    checks: list[Check] = []
    if info.sha256 is None:
        return [
            Check(
                "security",
                "artifact",
                "endpoint",
                "artifact",
                "",
                True,
                "endpoint model: no artifact to check",
            )
        ], {}
    try:
        blob = ws.artifacts.get(info.sha256)  # verifies the sha256
    except (ArtifactDamaged, ArtifactError) as exc:  # tampered or missing: the check fails
        return [
            Check("security", "checksum", "mismatch", "sha256 match", "==", False, exc.message)
        ], {}
    checks.append(
        Check(
            "security",
            "checksum",
            info.sha256[:12] + "…",
            "sha256 match",
            "==",
            True,
            f"{len(blob)} bytes, sha256 verified",
        )
    )
    if info.flavor == "sklearn":
        bad = refused_names(blob)
        checks.append(
            Check(
                "security",
                "trusted types",
                len(bad),
                0,
                "<=",
                not bad,
                "only the trusted scikit-learn, NumPy and SciPy types"
                if not bad
                else f"untrusted: {', '.join(bad[:5])}",
            )
        )
    elif info.flavor == "onnx":
        import onnx

        graph = onnx.load_from_string(blob)
        domains = sorted(
            {op.domain for op in graph.opset_import} | {node.domain for node in graph.graph.node}
        )
        bad = [d for d in domains if d not in ONNX_DOMAINS]
        checks.append(
            Check(
                "security",
                "trusted types",
                len(bad),
                0,
                "<=",
                not bad,
                "standard ONNX operator domains only"
                if not bad
                else f"custom operator domains: {', '.join(bad)}",
            )
        )
    with no_network() as attempts:
        try:
            get_flavor(info.flavor).load(blob)
            error = ""
        except NetworkBlocked as exc:
            error = str(exc)
        except ArtifactError as exc:
            error = exc.message
    checks.append(
        Check(
            "security",
            "no network during load",
            len(attempts),
            0,
            "<=",
            not attempts and not error,
            "loaded with the network blocked"
            if not attempts and not error
            else error or "; ".join(attempts),
        )
    )
    return checks, {"network_attempts": attempts}
