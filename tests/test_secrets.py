"""No secret leaves rdsca: every command that can run against the sandbox, with `--debug`, in a
subprocess of the installed `rdsca` (logging set up as for a user), and nothing it prints or writes
(stdout, stderr, journal and its -wal, plan, reports) holds a secret in play: the environment's AWS
secret key and session token, the keys moto issued to the assumed roles, database passwords given
in DSNs (with @ : / # and percent-encoding in them), in keyword DSNs or through --password-env."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from rdsca.cli import logs
from rdsca.errors import ConfigError
from rdsca.readiness.sessions import parse_dsn
from rdsca.sandbox import demo
from support.sandbox import SandboxHandle

RDSCA = Path(sys.executable).with_name("rdsca")
BUNDLE = Path(__file__).resolve().parents[1] / "src" / "rdsca" / "catalog" / "data" / "global-bundle-2025.pem"
G1 = "rds-ca-rsa2048-g1"

# Every piece of every secret is a distinct word, so that a partial leak (p@ss@host printed as
# "...:***@ss@host") is caught as surely as a whole one.
AWS_SECRET = "awsKeyAlpha/awsKeyBeta+awsKeyGamma0123456789"
AWS_TOKEN = "awsTokAlpha+awsTokBeta/awsTokGamma=="
PG_ENV = "pgEnvAlpha@pgEnvBeta"
DSN_PW = "pwAlpha@pwBeta:pwGamma%40pwDelta%2FpwEpsilon"  # decodes to pwAlpha@pwBeta:pwGamma@pwDelta/pwEpsilon
ENV_PW = "pwNu@pwXi/pwOmicron:pwUpsilon"  # given with --password-env
TEMPLATE_PW = "pwPi@pwRho%2FpwSigma"  # in readiness's --sessions-dsn template
FRAGMENTS = (
    *("awsKeyAlpha", "awsKeyBeta", "awsKeyGamma", "awsTokAlpha", "awsTokBeta", "awsTokGamma"),
    *("pgEnvAlpha", "pgEnvBeta", "pwAlpha", "pwBeta", "pwGamma", "pwDelta", "pwEpsilon"),
    *("pwZeta", "pwEta", "pwTheta", "pwIota", "pwKappa", "pwLambda", "pwMu"),
    *("pwNu", "pwXi", "pwOmicron", "pwUpsilon", "pwPi", "pwRho", "pwSigma"),
)
# Secrets by their shape, whatever their values: an unmasked token, key or signature.
SHAPES = (
    r"(?i)x-amz-security-token\s*[:=]\s*(?!\*\*\*)\w",  # canonical request, presigned URL
    r"(?i)x-amz-security-token': b'(?!\*\*\*)",  # the request's header dict
    r"Authorization': b'(?!\*\*\*)",
    r"<SecretAccessKey>(?!\*\*\*)",
    r"<SessionToken>(?!\*\*\*)",
    r"(?i)signature=(?!\*\*\*)[0-9a-f]",
    r"Signature:\s*[0-9a-f]{16}",  # botocore's "Signature:\n<hex>"
)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret, safe="")}


def moto_issued_secrets() -> list[str]:
    """The secret keys and session tokens moto gave the roles assumed so far (same process)."""
    from moto.sts.models import sts_backends

    found = []
    for account in demo.ACCOUNTS:
        for role in sts_backends[account]["aws"].assumed_roles:
            found += [role.secret_access_key, role.session_token]
    return found


class Runner:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.texts: list[str] = []

    def __call__(self, *args: str, ok: bool | None = True) -> subprocess.CompletedProcess[str]:
        """`rdsca --debug ARGS` (`rdsca ARGS` for "--no-debug", ARGS): `ok` True, it must succeed;
        False, it must fail; None, either (a verdict's exit code)."""
        flags = [] if args[0] == "--no-debug" else ["--debug"]  # without it, an error is one line
        argv = [str(RDSCA), *flags, *(args[1:] if not flags else args)]
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.env, cwd=self.cwd, timeout=120)
        self.texts += [proc.stdout, proc.stderr]
        if ok is not None:
            assert (proc.returncode == 0) is ok, f"{args}: {proc.returncode} {proc.stderr[-3000:]}"
        return proc

    def parallel(
        self, *commands: tuple[tuple[str, ...], bool | None]
    ) -> list[subprocess.CompletedProcess[str]]:
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(lambda c: self(*c[0], ok=c[1]), commands))


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    return sorted({s for secret in secrets for s in forms(secret) if s in text})


def test_every_command_with_debug_keeps_every_secret(
    sandbox_env: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox_env.control.seed_demo()
    port = closed_port()
    env = dict(os.environ)
    env.update(AWS_SECRET_ACCESS_KEY=AWS_SECRET, AWS_SESSION_TOKEN=AWS_TOKEN, PGPASSWORD=PG_ENV,
               DBPW=ENV_PW, RDSCA_CONFIG=str(tmp_path / "none.toml"))  # fmt: skip
    env.pop("RDSCA_JOURNAL", None)
    (tmp_path / "none.toml").write_text("")
    run = Runner(env, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    pg = f"127.0.0.1:{port}"
    sessions_dsns = (
        f"postgresql://monitor:{DSN_PW}@{pg}/postgres",  # parsed, then the connection is refused
        f"mysql://monitor:{DSN_PW}@{pg}/mysql",
        f"postgresql://monitor:pwZeta/pwEta@{pg}/postgres",  # a raw /: "port" pwZeta
        f"mysql://monitor:pwTheta#pwIota@{pg}",  # a raw #
        f"postgresql://monitor:4242/pwMu@{pg}/postgres",  # host "monitor", port 4242, path "/pwMu@..."
        f"host=127.0.0.1 port={port} password='pwKappa pwLambda' dbname=postgres",  # not a URL
    )
    template = f"postgresql://monitor:{TEMPLATE_PW}@{pg}/{{id}}"
    ready = ("readiness", "--to", G1, "--region", "us-east-1", "--no-probe", "--timeout", "2")
    run.parallel(
        (("audit", "--format", "json", "-o", str(out / "audit.json")), True),
        (("audit", "--region", "us-east-1"), True),
        (("cas", "--format", "json", "-o", str(out / "cas.json")), True),
        (("default", "show"), True),
        (("report", "-o", str(out / "report.html")), True),
        (("report", "--format", "markdown", "-o", str(out / "report.md")), True),
        (("iam-policy", "--for", "rotate", "-o", str(out / "iam.json")), True),
        (
            ("trust", "check", str(BUNDLE), "--for", G1, "--format", "json", "-o", str(out / "trust.json")),
            True,
        ),
        (("probe", pg), False),
        (("probe", "--instances", "--region", "us-east-1", "--format", "json"), None),
        *((("sessions", dsn, "--timeout", "2"), False) for dsn in sessions_dsns),
        *((("--no-debug", "sessions", dsn, "--timeout", "2"), False) for dsn in sessions_dsns),
        (("sessions", f"postgresql://monitor@{pg}/postgres", "--password-env", "DBPW"), False),
        ((*ready, "--sessions-dsn", template, "--format", "json", "-o", str(out / "ready.json")), None),
        (("--no-debug", *ready, "--sessions-dsn", template), None),
    )
    journal = tmp_path / "journal.sqlite"
    run(
        "plan",
        "--to",
        G1,
        "-o",
        str(out / "plan.json"),
        "--id",
        "analytics-dev-pg",
        "--id",
        "sessions-dev-mariadb",
    )
    applied = run(
        "apply", str(out / "plan.json"), "--journal", str(journal), "--yes", "--poll-interval", "0.05"
    )
    run_id = next(line.split()[1] for line in applied.stdout.splitlines() if line.startswith("run "))
    run("runs", "--journal", str(journal))
    run("show", run_id, "--journal", str(journal), "--events")
    run("show", run_id, "--journal", str(journal), "--format", "json")
    run("rollback", run_id, "--journal", str(journal), "--yes", "--poll-interval", "0.05")

    texts = run.texts + [
        p.read_bytes().decode("utf-8", "replace") for p in tmp_path.rglob("*") if p.is_file()
    ]
    everything = "\n".join(texts)
    assert "CanonicalRequest" in everything and "AssumeRole" in everything  # --debug logged the calls...
    assert "ModifyDBInstance" in everything and "cannot connect" in everything
    issued = moto_issued_secrets()
    assert len(issued) >= 4  # ...with keys of both demo accounts in play
    secrets = [AWS_SECRET, AWS_TOKEN, PG_ENV, DSN_PW, ENV_PW, TEMPLATE_PW, *issued]
    secrets += [parse_dsn(f"postgresql://u:{pw}@h/db").password or "" for pw in (DSN_PW, TEMPLATE_PW)]
    assert leaks(everything, secrets) == []
    assert [f for f in FRAGMENTS if f in everything] == []
    # The shapes, whatever the values: no moto token, no unmasked token, key or signature.
    assert "FQoGZXIvYXdzE" not in everything
    for shape in SHAPES:
        assert re.search(shape, everything) is None, shape


@pytest.mark.parametrize(
    ("dsn", "shown"),
    [
        ("postgresql://app:Qx1@Qx2@db.example.com:99999/x", "postgresql://app:***@db.example.com:99999/x"),
        ("postgresql://app:Qx1/Qx2@db.example.com/x", "postgresql://app:***@db.example.com/x"),
        ("mysql://app:Qx1#Qx2@db.example.com", "mysql://app:***@db.example.com"),
        ("mysql://app:Qx1?Qx2@db.example.com", "mysql://app:***@db.example.com"),
        ("postgresql://app:4242/Qx2@db.example.com/x", "postgresql://app:***@db.example.com/x"),
        ("oracle://app:Qx1%40Qx2:Qx3@db.example.com", "oracle://app:***@db.example.com"),
        ("host=db password='Qx1 Qx2' dbname=x", "host=db password=*** dbname=x"),
        ("host=db password=Qx1 dbname=x", "host=db password=*** dbname=x"),
    ],
)
def test_dsn_errors_show_the_password_as_stars(dsn: str, shown: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_dsn(dsn)
    assert shown in str(err.value) and "Qx" not in str(err.value), str(err.value)
    assert err.value.__cause__ is None  # no chained ValueError quoting a piece of it under --debug


def test_registered_and_learnt_secrets_are_masked_everywhere() -> None:
    logs.register_credentials(
        {"AccessKeyId": "ASIAX", "SecretAccessKey": "k/ey+Secret0001", "SessionToken": "t0k/en+0001=="}
    )
    assert logs.redact("a k/ey+Secret0001 b t0k%2Fen%2B0001%3D%3D c") == "a *** b *** c"
    logs.learn("<SessionToken>LearntFromSts0001</SessionToken>")
    assert logs.redact("later: LearntFromSts0001") == "later: ***"
    logs.register_environment({"MY_DB_PASSWORD": "fromTheEnv0001", "PWD": "/home/someone"})
    assert logs.redact("fromTheEnv0001 in /home/someone") == "*** in /home/someone"
