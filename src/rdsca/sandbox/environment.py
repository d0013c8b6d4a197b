"""The environment that points every rdsca command (and boto3) at a sandbox."""

from __future__ import annotations

import shlex

from rdsca.sandbox import demo
from rdsca.sandbox.control import ControlError, SandboxControl

DUMMY_KEY = "sandbox"
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_RDS", "AWS_ENDPOINT_URL_STS")


def environment(url: str) -> dict[str, str]:
    """Variables under which `rdsca audit` (no flags) reads the demo fleet of the sandbox at `url`."""
    env = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        "AWS_DEFAULT_REGION": demo.REGIONS[0],
        "RDSCA_REGIONS": ",".join(demo.REGIONS),
        "RDSCA_ACCOUNTS": ",".join(demo.ACCOUNTS),
        "RDSCA_ROLE_NAME": demo.ROLE_NAME,
    }
    roots = sandbox_roots(url)
    if roots is not None:  # so that probe / readiness / trust recognise the sandbox's CAs
        env["RDSCA_CATALOGUE_BUNDLE"] = roots
    return env


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
