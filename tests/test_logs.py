"""`--debug` shows AWS call logs, but never a secret: session tokens, assumed-role keys and
signatures are redacted from every log record (a real run against the sandbox, in a subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from rdsca.cli.logs import redact
from rdsca.sandbox.testing import SandboxHandle

RDSCA = Path(sys.executable).with_name("rdsca")


def test_debug_log_of_a_real_run_has_no_secret(sandbox_env: SandboxHandle) -> None:
    sandbox_env.control.seed_demo()
    proc = subprocess.run([str(RDSCA), "--debug", "audit", "--region", "us-east-1", "--format", "json"],
                          capture_output=True, text=True, env=dict(os.environ), timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = proc.stderr
    assert "AssumeRole" in log and "DescribeDBInstances" in log  # the calls are there...
    assert re.search(r"<SessionToken>(?!\*\*\*)", log) is None  # ...their secrets are not
    assert re.search(r"<SecretAccessKey>(?!\*\*\*)", log) is None
    assert re.search(r"X-Amz-Security-Token': b'(?!\*\*\*)", log) is None
    assert re.search(r"Authorization': b'(?!\*\*\*)", log) is None


def test_redact_covers_headers_fields_and_dsns() -> None:
    line = (
        "{'X-Amz-Security-Token': b'FQoG', 'Authorization': b'AWS4-HMAC-SHA256 Signature=ab'} "
        "<SecretAccessKey>k</SecretAccessKey> postgresql://app:pw@db/x password=hunter2"
    )
    out = redact(line)
    for secret in ("FQoG", "Signature=ab", ">k<", ":pw@", "hunter2"):
        assert secret not in out
