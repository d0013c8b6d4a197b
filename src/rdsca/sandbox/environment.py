"""The environment that points every rdsca command (and boto3) at a sandbox."""

from __future__ import annotations

import shlex

from rdsca.sandbox import demo
from rdsca.sandbox.control import ControlError, SandboxControl

DUMMY_KEY = "sandbox"
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_RDS", "AWS_ENDPOINT_URL_STS")


def environment(url: str) -> dict[str, str]:
    """Variables under which `rdsca audit` (no flags) reads the fleet the sandbox at `url` holds
    (the demo fleet's accounts and regions when it holds none, or cannot say)."""
    accounts, regions = fleet_targets(url)
    env = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        "AWS_DEFAULT_REGION": regions[0],
        "RDSCA_REGIONS": ",".join(regions),
        "RDSCA_ACCOUNTS": ",".join(accounts),
        "RDSCA_ROLE_NAME": demo.ROLE_NAME,
    }
    roots = sandbox_roots(url)
    if roots is not None:  # so that probe / readiness / trust recognise the sandbox's CAs
        env["RDSCA_CATALOGUE_BUNDLE"] = roots
    return env


def fleet_targets(url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The accounts and regions of the instances the sandbox holds (a synthetic fleet has its own);
    the demo fleet's when it holds none or does not answer."""
    try:
        listing = SandboxControl(url, timeout=30).instances()
    except ControlError:
        listing = []
    accounts = sorted({str(i["account"]) for i in listing})
    regions = sorted({str(i["region"]) for i in listing})
    if set(accounts) <= set(demo.ACCOUNTS) and set(regions) <= set(demo.REGIONS):
        return tuple(demo.ACCOUNTS), tuple(demo.REGIONS)  # empty, or the demo fleet (or part of it)
    return tuple(accounts), tuple(regions)


def sandbox_roots(url: str) -> str | None:
    """Path of the sandbox's `sandbox-roots.pem` (see `endpoints.py`); None when it has none."""
    try:
        return str(SandboxControl(url, timeout=30).pki()["files"]["sandbox-roots.pem"])
    except (ControlError, KeyError, TypeError):
        return None


def export_lines(url: str) -> list[str]:
    """POSIX shell lines to `eval`: unset what would send calls elsewhere, export the rest."""
    lines = [f"unset {' '.join(UNSET)}"]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in environment(url).items()]
    return lines
