"""Start the stand-in in its own process and read its counters (for the benchmark and the tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SERVER = Path(__file__).resolve().parent / "server.py"


class Handle:
    def __init__(self, url: str, proc: subprocess.Popen) -> None:
        self.url = url
        self.proc = proc

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_standin/{path}", data=data, method=method)
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    def fleet(self) -> dict[str, Any]:
        return dict(self._call("GET", "fleet"))

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "stats"))

    def reset(self) -> None:
        self._call("DELETE", "stats")

    def configure(self, **conf: Any) -> dict[str, Any]:
        return dict(self._call("POST", "config", conf))

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the stand-in has used so far (Linux /proc)."""
        return cpu_seconds(self.proc.pid)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process `pid` has used so far (Linux /proc); nan once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(command: Sequence[str], workdir: Path, name: str, wait: float = 120) -> Iterator[Handle]:
    """Run `command --port 0 --url-file F` (a server that writes its URL to F once it listens), its
    output in WORKDIR/NAME.log, until the block ends; then stop it (terminate, kill after 10 s)."""
    url_file = workdir / f"{name}.url"
    url_file.unlink(missing_ok=True)
    log = (workdir / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [*command, "--port", "0", "--url-file", str(url_file)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + wait
        while not url_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start; see {workdir / (name + '.log')}")
            time.sleep(0.05)
        yield Handle(url_file.read_text().strip(), proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextmanager
def start(workdir: Path, args: Sequence[str] = (), python: str = sys.executable) -> Iterator[Handle]:
    """Run `server.py ARGS` on a free loopback port until the block ends."""
    with serve([python, str(SERVER), *args], workdir, "standin") as handle:
        yield handle
