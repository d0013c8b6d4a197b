"""The sandbox server: moto in server mode on 127.0.0.1, behind rdsca's middleware.

In a test: `with SandboxServer(reboot_seconds=0.3) as sb: boto3.client("rds", endpoint_url=sb.url)`.
As a process: `python -m rdsca.sandbox.server --port 0 --url-file FILE` (what `rdsca sandbox start`
runs). moto keeps its state per process, so servers started in one process share their backends.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from rdsca.sandbox import extension, lifecycle
from rdsca.sandbox.controlapi import ControlApi
from rdsca.sandbox.health import HealthApp
from rdsca.sandbox.middleware import Middleware, Registry, identify

DEFAULT_HOST = "127.0.0.1"


def quiet_logs() -> None:
    for name in ("werkzeug", "moto"):
        logging.getLogger(name).setLevel(logging.ERROR)


def build_app(reboot_seconds: float | None = None, profile: str | None = None) -> tuple[Middleware, Registry]:
    """The WSGI app (middleware + control API + moto); installs the extension. The clock starts
    from `profile` (`lifecycle.PROFILES`), with `reboot_seconds` over it when given."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    # RDS needs EC2 only for a default security group; skipping moto's ~1,300 sample AMIs per
    # account x region makes a new target cost milliseconds instead of 0.4 s.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    extension.install()
    if profile is not None:
        lifecycle.use_profile(profile)
    if reboot_seconds is not None:
        lifecycle.SETTINGS.reboot_seconds = reboot_seconds
    registry = Registry()
    control = ControlApi(registry, lifecycle.SETTINGS)
    moto_app = DomainDispatcherApplication(create_backend_app)
    with_health = HealthApp(moto_app, lambda environ: getattr(identify(environ, b""), "account", ""))
    return Middleware(with_health, registry, control), registry


class SandboxServer:
    """A sandbox serving from a thread of this process."""

    def __init__(
        self,
        port: int = 0,
        reboot_seconds: float | None = None,
        host: str = DEFAULT_HOST,
        profile: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.reboot_seconds = reboot_seconds
        self.profile = profile
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox server is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> SandboxServer:
        from moto.moto_server.werkzeug_app import MotoRequestHandler

        quiet_logs()
        app, _ = build_app(self.reboot_seconds, self.profile)
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="rdsca-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve(
    port: int = 0,
    host: str = DEFAULT_HOST,
    reboot_seconds: float | None = None,
    url_file: Path | None = None,
    seed_demo: bool = False,
    profile: str | None = None,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM; write the URL to `url_file` once ready."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    quiet_logs()
    app, _ = build_app(reboot_seconds, profile)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    url = f"http://{host}:{server.server_port}"
    if seed_demo:
        from rdsca.sandbox import endpoints, fleet

        fleet.seed_demo()
        endpoints.listen_demo()

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    if url_file is not None:
        tmp = url_file.with_suffix(".tmp")
        tmp.write_text(url + "\n", encoding="utf-8")
        os.replace(tmp, url_file)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rdsca.sandbox.server", description="Run the rdsca sandbox (moto + extension)."
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--reboot-seconds", type=float, default=None)
    parser.add_argument("--url-file", type=Path, default=None)
    parser.add_argument("--seed-demo", action="store_true")
    parser.add_argument("--profile", choices=sorted(lifecycle.PROFILES), default=None)
    args: Any = parser.parse_args(argv)
    serve(args.port, args.host, args.reboot_seconds, args.url_file, args.seed_demo, args.profile)


if __name__ == "__main__":
    main()
