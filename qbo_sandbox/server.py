"""Running the sandbox: SandboxOptions, a blocking serve() for the CLI, and start_in_thread() for tests."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from qbo_sandbox.app import create_app


@dataclass(frozen=True)
class SandboxOptions:
    """How to run the sandbox; everything except host/port/data_dir can also change at runtime."""

    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: float = 0
    quotas: str = "production"  # "production" or "off"
    fault_rate: float = 0.0
    fault_seed: int = 0
    data_dir: str | None = None
    access_token_ttl_s: int = 3600
    default_realm: str = "9341455130166501"
    slow_response_s: float = 5.0
    throttle_format: str = "xml"  # 429 body: "xml" as every captured real 429, or "json"
    # A realm seeded with Intuit's sample company (lists and transactions) instead of the lists company;
    # 4620816365 is the company id Intuit's docs use. None: every realm starts as the lists company.
    sample_realm: str | None = "4620816365"


def _config(options: SandboxOptions) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(options),
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto is TCP, and
    # without it Nagle + delayed ACK add ~40 ms to every response.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def serve(options: SandboxOptions) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM); the console's `qbsync sandbox` calls this."""
    sock = _bind(options.host, options.port)  # port 0 picks a free port, printed below
    port = sock.getsockname()[1]
    print(f"QBO sandbox on http://{options.host}:{port} (default realm {options.default_realm})", flush=True)
    try:
        uvicorn.Server(_config(options)).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl-C after its graceful shutdown; that is a normal exit here
    finally:
        sock.close()


class RunningSandbox:
    """A sandbox serving from a background thread; stop() (or leaving the `with`) shuts it down."""

    def __init__(self, options: SandboxOptions):
        self.options = options
        self._sock = _bind(options.host, options.port)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://{options.host}:{self.port}"
        config = _config(options)
        self.app = config.app
        self.sandbox = self.app.state.sandbox  # type: ignore[union-attr]  # _config passes the Starlette app
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name=f"qbo-sandbox-{self.port}",
            daemon=True,
        )

    def start(self) -> RunningSandbox:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the QBO sandbox did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(options: SandboxOptions | None = None) -> RunningSandbox:
    """Start on options.port (0 = a free port) and return once it accepts connections."""
    return RunningSandbox(options or SandboxOptions()).start()
