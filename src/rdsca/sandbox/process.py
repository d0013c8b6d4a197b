"""A sandbox as a detached process, found again through a state file in the user's state dir."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from rdsca.errors import RdscaError
from rdsca.sandbox.control import SandboxControl

if TYPE_CHECKING:
    from rdsca.sandbox.server import SandboxServer

STATE_FILE = "sandbox.json"
MODULE = "rdsca.sandbox.server"


class SandboxError(RdscaError):
    """The sandbox could not be started, or none is running."""


@dataclass(frozen=True)
class SandboxProcess:
    pid: int
    url: str
    log: str
    started_at: str


def state_dir() -> Path:
    """`$RDSCA_STATE_DIR`, else the platform's user state directory for rdsca."""
    return Path(os.environ.get("RDSCA_STATE_DIR") or platformdirs.user_state_dir("rdsca"))


def state_path() -> Path:
    return state_dir() / STATE_FILE


def alive(pid: int) -> bool:
    """True when a process `pid` exists (someone else's counts too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_sandbox(pid: int) -> bool:
    """True when `pid` is alive and (where /proc tells) is a sandbox server, not a reused pid."""
    if not alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        args = cmdline.read_bytes().split(b"\0")
        return MODULE.encode() in args or any(a.endswith(b"rdsca") for a in args[:2])
    return True


def running() -> SandboxProcess | None:
    """The sandbox recorded in the state file, if its process is still alive."""
    path = state_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        proc = SandboxProcess(**data)
    except (OSError, ValueError, TypeError):
        return None
    return proc if _is_sandbox(proc.pid) else None


def record(proc: SandboxProcess) -> None:
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(proc), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def forget() -> None:
    state_path().unlink(missing_ok=True)


def start(
    port: int = 0, reboot_seconds: float | None = None, timeout: float = 30.0, profile: str | None = None
) -> SandboxProcess:
    """Start `python -m rdsca.sandbox.server` detached; return once it answers."""
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    url_file = directory / "sandbox.url"
    url_file.unlink(missing_ok=True)
    log_path = directory / "sandbox.log"
    args = [sys.executable, "-m", MODULE, "--port", str(port), "--url-file", str(url_file)]
    if reboot_seconds is not None:
        args += ["--reboot-seconds", str(reboot_seconds)]
    if profile is not None:
        args += ["--profile", profile]
    with open(log_path, "ab") as log:
        child = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    started = datetime.now(UTC).isoformat(timespec="seconds")
    # Recorded at once, so that `stop` finds the child even if this process dies while waiting.
    record(SandboxProcess(child.pid, "", str(log_path), started))
    try:
        url = _wait_for_url(child, url_file, log_path, timeout)
        control = SandboxControl(url, timeout=5)
        deadline = time.monotonic() + timeout
        while not control.health():
            if time.monotonic() > deadline:
                raise SandboxError(f"the sandbox at {url} did not answer within {timeout:.0f} s")
            time.sleep(0.05)
    except BaseException:
        child.terminate()
        forget()
        raise
    proc = SandboxProcess(child.pid, url, str(log_path), started)
    record(proc)
    return proc


def _wait_for_url(child: subprocess.Popen[bytes], url_file: Path, log_path: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if url_file.exists():
            url = url_file.read_text(encoding="utf-8").strip()
            url_file.unlink(missing_ok=True)
            return url
        if child.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
            raise SandboxError(
                f"the sandbox exited at start ({' '.join(tail) or 'no output'}); log: {log_path}"
            )
        time.sleep(0.05)
    raise SandboxError(f"the sandbox did not start within {timeout:.0f} s; log: {log_path}")


def stop(proc: SandboxProcess, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `timeout`; forget the state file."""
    try:
        os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _is_sandbox(proc.pid) and time.monotonic() < deadline:
            _reap(proc.pid)
            time.sleep(0.05)
        if _is_sandbox(proc.pid):
            os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    forget()


def _reap(pid: int) -> None:
    """Collect the exit status when the sandbox is our own child (same process started it)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def server_class() -> type[SandboxServer]:
    """The in-process server; a clear error when the sandbox extra (moto) is not installed."""
    try:
        from rdsca.sandbox.server import SandboxServer
    except ModuleNotFoundError as exc:
        raise SandboxError(
            f"the sandbox needs {exc.name}, which is not installed: pip install 'rdsca[sandbox]'"
        ) from exc
    return SandboxServer
