"""Shared fixtures. Sandbox fixtures first; other areas add theirs below."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rdsca.sandbox.server import SandboxServer
from support import realdb
from support.sandbox import SandboxHandle

SANDBOX_REBOOT_SECONDS = 0.3


@pytest.fixture(autouse=True)
def _no_inherited_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables fold at COLUMNS when it is set; a test worker may inherit one (80) from whatever
    started the run. Tests that check folding set it themselves."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """One sandbox (moto + rdsca's extension) for the whole session, in a thread of this process."""
    with SandboxServer(reboot_seconds=SANDBOX_REBOOT_SECONDS) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxHandle:
    """An empty sandbox: reset before the test (moto state, faults, latency, counts, config)."""
    handle = SandboxHandle.connect(sandbox_server.url)
    handle.control.reset()
    return handle


@pytest.fixture
def demo_sandbox(sandbox: SandboxHandle) -> SandboxHandle:
    """The sandbox with the demo fleet of `rdsca.sandbox.demo`."""
    sandbox.control.seed_demo()
    return sandbox


@pytest.fixture
def sandbox_env(sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> SandboxHandle:
    """The environment `rdsca sandbox env` prints, set for this test (rdsca commands need no flags)."""
    from rdsca.sandbox.environment import UNSET

    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in sandbox.env().items():
        monkeypatch.setenv(name, value)
    return sandbox


from support.faultproxy import FaultProxy  # noqa: E402  (appended with its fixture)


@pytest.fixture
def fault_proxy(sandbox_server: SandboxServer) -> Iterator[FaultProxy]:
    """A `FaultProxy` (tests/support/faultproxy.py) in front of the session's sandbox, no rules yet."""
    with FaultProxy(sandbox_server.url) as proxy:
        yield proxy


@pytest.fixture
def demo(sandbox_env: SandboxHandle) -> SandboxHandle:
    """The demo fleet, seeded, with the call counts at zero; the environment set as for `rdsca`."""
    sandbox_env.control.seed_demo()
    sandbox_env.control.reset_calls()
    return sandbox_env


@pytest.fixture
def estate(
    sandbox_env: SandboxHandle, fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SandboxHandle]:
    """The demo fleet, with rdsca's AWS calls going through the fault proxy (no rules yet)."""
    sandbox_env.control.seed_demo()
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    yield sandbox_env
    sandbox_env.control.clear_faults()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The real database servers this process started go with it (see support/realdb.py)."""
    realdb.stop_all()
