"""The stand-in for AWS: rdsca's sandbox in its own process, driven through its control API.

The sandbox server (`python -m rdsca.sandbox.server`) serves moto with the RDS certificate
extension behind a WSGI layer that adds latency and counts calls; `/_rdsca/...` is its control
API (seed, latency, call counts). Running it in a separate process keeps its CPU out of the
benchmark's own process, as it would be with AWS.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from standin import handle


@dataclass(frozen=True)
class Seeded:
    instances: int
    on_ca_2019: int
    seconds: float


class StandIn:
    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the stand-in's process has used so far (Linux /proc)."""
        return handle.cpu_seconds(self.pid)

    @classmethod
    @contextmanager
    def start(cls, workdir: Path, log: Callable[[str], None]) -> Iterator[StandIn]:
        with handle.serve([sys.executable, "-m", "rdsca.sandbox.server"], workdir, "sandbox", wait=60) as h:
            yield cls(h.url, h.proc.pid)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/_rdsca/{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=600) as resp:
            return json.loads(resp.read())

    def seed(self, accounts: list[str], regions: list[str], per_target: int, retired: float) -> Seeded:
        started = time.perf_counter()
        answer = self._call(
            "POST",
            "seed",
            {
                "fleet": "synthetic",
                "accounts": accounts,
                "regions": regions,
                "per_region": per_target,
                "retired_fraction": retired,
            },
        )
        listing = self._call("GET", "instances")["instances"]
        old = sum(1 for i in listing if (i.get("ca") or i.get("CACertificateIdentifier")) == "rds-ca-2019")
        return Seeded(int(answer["instances"]), old, time.perf_counter() - started)

    def set_latency(self, seconds: float) -> None:
        self._call("POST", "latency", {"seconds": seconds})

    def reset_calls(self) -> None:
        self._call("DELETE", "calls")

    def calls(self) -> dict[str, Any]:
        return dict(self._call("GET", "calls"))
