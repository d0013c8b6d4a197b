"""`--debug` shows AWS call logs, but never a secret: session tokens, assumed-role keys and
signatures are redacted from every log record (a real run against the sandbox, in a subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rdsca.cli.logs import redact
from support.sandbox import SandboxHandle

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


@pytest.mark.parametrize(
    ("line", "secrets"),
    [
        # botocore's CanonicalRequest (the token is a header line) and its Signature line
        ("x-amz-security-token:FQoGtok/en+1==\n\ncontent-type;host;x-amz-security-token\n", ["FQoGtok"]),
        ("DEBUG botocore.auth: Signature:\n5d9a6c5c256cc77d026050b481033bb7", ["5d9a6c5c"]),
        # a presigned URL
        (
            "?X-Amz-Security-Token=FQoG%2Ftok&X-Amz-Signature=0123456789abcdef01&X-Amz-Date=1",
            ["FQoG", "01234"],
        ),
        ("Authorization: AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=0123456789abcdef01", ["AKIA", "0123"]),
        (
            '{"Credentials": {"AccessKeyId": "ASIAQ", "SecretAccessKey": "sk/1", "SessionToken": "tk+1"}}',
            ["sk/1"],
        ),
        ('{"AccessKeyId": "ASIAQ", "SessionToken": "tk+1"}', ["ASIAQ", "tk+1"]),
        ("<AccessKeyId>ASIAQ</AccessKeyId><SecretAccessKey>sk/1</SecretAccessKey>", ["ASIAQ", "sk/1"]),
        ("postgresql://user:p@ss@host/db", ["p@ss", "ss@"]),
        ("mysql://u:p%40ss@h", ["p%40ss"]),
        ("postgresql://u:a:b/c#d?e@host:5432/db", ["a:b", "c#d", "?e"]),
        ("host=x password=secret dbname=y", ["secret"]),
        ("host=x password='quoted secret' dbname=y", ["quoted", "secret"]),
        ("PGPASSWORD=pgpw1 MYSQL_PWD=mypw2 AWS_SESSION_TOKEN=tok3", ["pgpw1", "mypw2", "tok3"]),
        ("aws_secret_access_key='k 4'", ["k 4"]),
        ("{'password': b'bytes1', \"password\": \"json2\"}", ["bytes1", "json2"]),
    ],
)
def test_redact_patterns(line: str, secrets: list[str]) -> None:
    out = redact(line)
    assert "***" in out
    for secret in secrets:
        assert secret not in out, out


def test_redact_keeps_what_is_not_secret() -> None:
    line = "POST http://127.0.0.1:46161/ DescribeDBInstances account 111111111111 region us-east-1"
    assert redact(line) == line
    signed = "content-type;host;x-amz-date;x-amz-security-token"  # the names of the signed headers
    assert redact(signed) == signed
