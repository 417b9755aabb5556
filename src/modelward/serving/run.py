"""``modelward serve``: build the app for a workspace and run it on uvicorn.

uvloop and httptools are used when installed. Beyond loopback (any address outside
127.0.0.0/8 and ::1, including 0.0.0.0 and ::) the server always requires an API token:
it refuses to start without an active one, and once running a request without a valid
token is 401 even after every token is revoked. On loopback, tokens are required once
one exists. SIGTERM and SIGINT shut down gracefully: requests in flight finish, the
prediction log is flushed, and the process exits 0 (3, saying so, when
log storage could not take the rows: they stay in the write-ahead folder).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError, StorageError
from modelward.http.hosts import is_loopback

if TYPE_CHECKING:
    from modelward.serving.app import ServingApp
    from modelward.workspace import Workspace

__all__ = ["ServeOptions", "app_from_env", "create_app", "is_loopback", "serve"]

log = logging.getLogger("modelward.serving")

_OPTIONS_ENV = "MODELWARD_SERVE_OPTIONS"


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    environment: str = "production"
    poll: float | None = None  # seconds between re-reads; None: policy serving.follow_ms
    log_level: str = "info"
    rollout_controller: bool = False  # run the rollout controller in the server too


def create_app(ws: Workspace, options: ServeOptions, *, on_ready: Any = None) -> ServingApp:
    from modelward.predlog.writer import LogWriter
    from modelward.serving.app import ServingApp
    from modelward.serving.metrics import ServerMetrics
    from modelward.serving.state import ServingState

    serving = ws.policy.serving
    writer = LogWriter(
        ws.logs_url,
        wal_dir=ws.layout.wal,
        flush_rows=serving.flush_rows,
        flush_ms=serving.flush_ms,
        max_wal_bytes=serving.wal_max_mb * 2**20,
        on_quarantine=lambda *about: _quarantine_alert(ws, *about),
        separate_process=True,  # the conversion's memory and GIL are not the requests'
    )
    poll = options.poll if options.poll is not None else serving.follow_ms / 1000
    state = ServingState(ws, poll=poll, require_auth=not is_loopback(options.host))
    metrics = ServerMetrics(
        lambda: writer.queued,
        lambda: writer.dropped,
        lambda: writer.quarantined,
        wal_bytes=lambda: writer.wal_bytes,
        wal_limit=lambda: writer.max_wal_bytes or 0,
    )

    def track(routes: dict[Any, Any]) -> None:
        for (model, env), route in routes.items():
            metrics.revision.labels(model, env).set(route.revision)

    state.on_change.append(track)
    gateway = None
    if ws.layout.llm_config.exists():  # LLM endpoints configured: serve the gateway too
        from modelward.llm.gateway import gateway_routes

        gateway = gateway_routes(ws, environment=options.environment)
    controller = None
    if options.rollout_controller:
        from modelward.rollout.background import BackgroundController

        controller = BackgroundController(ws)
    return ServingApp(
        state,
        writer,
        metrics,
        default_env=options.environment,
        on_ready=on_ready,
        predict_timeout_s=serving.predict_timeout_s,
        gateway=gateway,
        controller=controller,
    )


def _quarantine_alert(ws: Workspace, file: str, rows: int, reason: str) -> None:
    """An alert (stored, sent to policy.yml's sinks) naming the file rows were set aside
    in; from its own thread, so a slow sink never holds the log writer up."""

    def fire() -> None:
        try:
            ws.alerting.alerts.fire(
                model=None,
                check="prediction-log",
                level="warning",
                message=f"{rows} prediction-log row(s) cannot be stored in Parquet ({reason}); "
                f"set aside in {file}",
                keys=["quarantine"],
                details={"file": file, "rows": rows, "reason": reason},
                source="serving",
            )
        except Exception:  # noqa: BLE001 - the error log line has said it already
            log.exception("could not raise the prediction-log quarantine alert")

    threading.Thread(target=fire, name="quarantine-alert", daemon=True).start()


def app_from_env() -> ServingApp:
    """The app in a uvicorn worker process (``--workers N``)."""
    from modelward.serving.logs import configure_logging
    from modelward.workspace import Workspace

    options = ServeOptions(**json.loads(os.environ[_OPTIONS_ENV]))
    configure_logging(options.log_level)
    return create_app(Workspace.open(), options)


def check_binding(ws: Workspace, options: ServeOptions) -> None:
    from modelward.http.tokens import active_tokens

    if options.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {options.workers}", field="workers")
    if not 0 <= options.port <= 65535:
        raise ConfigError(f"--port {options.port} is not a TCP port (0-65535)", field="port")
    if options.environment not in ("staging", "production"):
        raise ConfigError(
            f"unknown environment {options.environment!r}; use staging or production",
            field="environment",
        )
    if ws.layout.llm_config.exists():  # llm.yml and the gateway's Redis URL, before workers
        from modelward.llm.shared.url import resolve_url

        resolve_url(ws.llm.config.gateway.redis_url)
    if is_loopback(options.host):
        return
    if not active_tokens(ws.db):
        raise ConfigError(
            f"refusing to serve on {options.host} without API tokens: beyond loopback every "
            "request needs one. Create one with `modelward tokens create NAME` or bind 127.0.0.1",
            field="host",
        )


def serve(ws: Workspace, options: ServeOptions) -> None:

    from modelward.serving.connections import ListeningServer, ServerConfig
    from modelward.serving.logs import configure_logging

    check_binding(ws, options)
    configure_logging(options.log_level)
    # Arrow's memory (the log writer's) back to the system after each publish: its
    # default pool keeps what it freed, and the server's RSS grew with every batch logged
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((options.host, options.port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {options.host}:{options.port} ({exc.strerror}); choose "
            "another --port or --host",
            field="port",
        ) from exc
    # not listening yet: the server listens once its app has started (ListeningServer), so
    # a connection before that is refused, never held in the kernel's queue
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    host = f"[{options.host}]" if family == socket.AF_INET6 else options.host
    url = f"http://{host}:{port}"
    speed = _speedups()

    def ready() -> None:
        log.info(f"listening on {url}", extra={"url": url, "pid": os.getpid(), **speed})

    common = _uvicorn_options(ws, speed)
    # Uvicorn re-raises the signal it stopped on; a no-op handler makes that exit 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    if options.workers == 1:
        app = create_app(ws, options)
        server = ListeningServer(ServerConfig(app, **common), on_listening=ready)
        server.run(sockets=[sock])
        if not server.started:
            raise StorageError("the server failed to start; see the log lines above")
        if not app.log_flushed:
            raise StorageError(
                "stopped with prediction-log rows not yet in Parquet (see the log line "
                "above); they stay in the write-ahead folder for the next start"
            )
        return
    from uvicorn.supervisors import Multiprocess

    os.environ[_OPTIONS_ENV] = json.dumps(asdict(options))
    os.environ["MODELWARD_HOME"] = str(ws.root)
    if not ws.layout.db_in_folder:
        os.environ["MODELWARD_DB_URL"] = ws.db_url
    config = ServerConfig(
        "modelward.serving.run:app_from_env", factory=True, workers=options.workers, **common
    )
    ready()
    Multiprocess(config, sockets=[sock]).run()


def _uvicorn_options(ws: Workspace, speed: dict[str, bool]) -> dict[str, Any]:
    """uvicorn's options, with the connection bounds of policy.yml's serving section."""
    from modelward.serving.connections import MAX_HEADER_BYTES, Limits, protocol

    serving = ws.policy.serving
    return {
        "lifespan": "on",
        "access_log": False,
        "log_config": None,
        "timeout_graceful_shutdown": 30,
        "loop": "uvloop" if speed["uvloop"] else "asyncio",
        "http": protocol(speed["httptools"]),
        "timeout_keep_alive": serving.keep_alive_s,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "limits": Limits(serving.header_timeout_s, serving.max_connections),
    }


def _speedups() -> dict[str, bool]:
    import importlib.util

    return {
        "uvloop": importlib.util.find_spec("uvloop") is not None,
        "httptools": importlib.util.find_spec("httptools") is not None,
    }
