"""The environment that points every rdsca command (and boto3) at a sandbox."""

from __future__ import annotations

import shlex

from rdsca.sandbox import demo

DUMMY_KEY = "sandbox"
UNSET = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_RDS", "AWS_ENDPOINT_URL_STS")


def environment(url: str) -> dict[str, str]:
    """Variables under which `rdsca audit` (no flags) reads the demo fleet of the sandbox at `url`."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
        "AWS_DEFAULT_REGION": demo.REGIONS[0],
        "RDSCA_REGIONS": ",".join(demo.REGIONS),
        "RDSCA_ACCOUNTS": ",".join(demo.ACCOUNTS),
        "RDSCA_ROLE_NAME": demo.ROLE_NAME,
    }


def export_lines(url: str) -> list[str]:
    """POSIX shell lines to `eval`: unset what would send calls elsewhere, export the rest."""
    lines = [f"unset {' '.join(UNSET)}"]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in environment(url).items()]
    return lines
