"""Hostile trees, files and flags against `rdsca trust scan`, `rdsca notices` and `rdsca resume`.

Each attack goes through the real entry point and must end in one line and a documented exit
code (docs/exit-codes.md), within a bounded time, and never show a secret found in the tree.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
from cryptography import x509

from rdsca.sandbox import health as sandbox_health
from support.cli import run
from support.keystores import write_p12_truststore

BUNDLES = Path("/work/shared/data/aws-rds-bundles")


@pytest.fixture(autouse=True)
def _logging_restored():
    """`--debug` in-process sets the root handler on this test's stderr and werkzeug (the sandbox's
    server thread, in this process) to DEBUG: put both back, or later tests' stderr gets its lines."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {n: logging.getLogger(n).level for n in ("botocore", "boto3", "urllib3", "werkzeug")}
    yield
    root.handlers[:], root.level = handlers, level
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def scan_json(capsys: pytest.CaptureFixture[str], root: Path, *extra: str) -> tuple[int, dict, str]:
    code, out, err = run(capsys, "--debug", "trust", "scan", str(root), "--format", "json", *extra)
    assert code in (0, 3), err
    return code, json.loads(out), out + err


def settings(doc: dict) -> dict[str, dict]:
    return {f"{s['path']}:{s['line']}": s for s in doc["settings"]}


def _laughs(levels: int) -> str:
    """A YAML alias bomb: each level names the one below four times (4**levels leaves)."""
    lines = ["l0: &l0 {a: b, c: d}"]
    lines += [
        f"l{i}: &l{i} {{x1: *l{i - 1}, x2: *l{i - 1}, x3: *l{i - 1}, x4: *l{i - 1}}}"
        for i in range(1, levels)
    ]
    return "\n".join(lines) + "\n"


SPRING = (
    "spring:\n  datasource:\n    url: jdbc:postgresql://db.example/app\n    hikari:\n"
    "      data-source-properties:\n        sslmode: verify-full\n        sslrootcert: /certs/ca.pem\n"
)


@pytest.mark.timeout(60)
def test_a_yaml_alias_bomb_in_spring_settings_is_bounded(capsys, tmp_path):
    # 4**29 keys if walked: the Spring rule composes YAML and followed every alias.
    write(tmp_path, "src/main/resources/application.yml", SPRING + _laughs(30))
    code, doc, _ = scan_json(capsys, tmp_path)
    assert code == 0
    assert settings(doc)["src/main/resources/application.yml:6"]["verdict"] == "unknown"


@pytest.mark.timeout(60)
def test_deeply_nested_yaml_and_json_are_read_without_recursion_errors(capsys, tmp_path):
    depth = 20_000
    write(tmp_path, "application.yml", SPRING + "deep: " + "[" * depth + "]" * depth + "\n")
    write(tmp_path, "config/settings.json", '{"sslmode":' * depth + "1" + "}" * depth)
    write(
        tmp_path,
        "chart/values.yaml",
        "datasource: data-source-properties\n" + "{a: " * depth + "1" + "}" * depth,
    )
    code, doc, _ = scan_json(capsys, tmp_path)
    assert code == 0
    # The nested file is read by indentation instead: the setting is still found.
    assert settings(doc)["application.yml:6"]["verdict"] == "unknown"


def _garbage_tree(root: Path) -> None:
    write(root, "bin.cfg", b"\xff\xfe sslmode=verify-full sslrootcert=/a.pem\n\x80\x81\x00\x00")
    write(root, "latin1.env", b"PGSSLMODE=verify-full\nPGSSLROOTCERT=/c\xe9rts/ca.pem\n")
    write(root, "bad.pem", "-----BEGIN CERTIFICATE-----\nZZZZ!!!!garbage\n-----END CERTIFICATE-----\n")
    write(
        root,
        "k8s/secret.yaml",
        "apiVersion: v1\nkind: Secret\ndata:\n  ca.pem: TUlJ"
        + "QUFB" * 200
        + "\n  rds-ca.crt: MIIgarbage==\n",
    )
    write(root, "web/package-lock.json", '{"packages": {"node_modules/pg": {"version": ')
    write(root, "web/package.json", '{"dependencies": {"mysql2": ')
    write(
        root,
        "Dockerfile",
        "FROM x\nENV PGSSLROOTCERT=" + "/x" * 5000 + "\nRUN curl -o " + "a" * 10_000 + "\n",
    )
    # One long line of near-matches: a backtracking rule would take minutes here.
    write(root, "long.env", "DATABASE_URL=postgres://u@h/db?" + "sslmode=verify-full&" * 40_000 + "\n")
    write(root, "app.properties", "x.url=jdbc:mysql://h/d?" + "a=b&" * 200_000 + "\n")


@pytest.mark.timeout(120)
def test_garbage_files_are_judged_or_skipped_one_line_each(capsys, tmp_path):
    _garbage_tree(tmp_path)
    code, doc, _ = scan_json(capsys, tmp_path)
    assert code == 0
    bundles = {b["path"]: b for b in doc["bundles"]}
    assert bundles["bad.pem"]["verdict"] == "unreadable"
    assert "\n" not in bundles["bad.pem"]["detail"]
    found = settings(doc)
    assert found["latin1.env:1"]["verdict"] == "unknown"
    # A 10,000-character CA path is named in short, not quoted whole into every table row.
    assert found["Dockerfile:2"]["verdict"] == "unknown" and len(found["Dockerfile:2"]["detail"]) < 300
    code, out, err = run(capsys, "trust", "scan", str(tmp_path))
    assert code == 0 and "NOTHING WILL BREAK" in out and err == ""


@pytest.mark.timeout(60)
def test_links_fifos_and_unreadable_files_never_block_or_leave_the_tree(capsys, tmp_path):
    outside = write(
        tmp_path.parent / f"{tmp_path.name}-outside", "shadow.env", "PGSSLROOTCERT=/outside.pem\n"
    )
    root = tmp_path / "tree"
    write(root, "ok.env", "PGSSLMODE=verify-full\nPGSSLROOTCERT=/certs/ca.pem\n")
    (root / "sub").mkdir()
    os.symlink(outside, root / "sub/shadow.env")
    os.symlink("/etc/shadow", root / "sub/shadow.pem")
    os.symlink("..", root / "sub/loop")
    os.symlink("loop-b", root / "sub/loop-a")
    os.symlink("loop-a", root / "sub/loop-b")
    os.mkfifo(root / "sub/pipe.env")
    os.mkfifo(root / "sub/pipe.pem")
    locked = write(root, "sub/locked.env", "PGSSLROOTCERT=/locked.pem\n")
    locked.chmod(0)
    code, doc, text = scan_json(capsys, root)
    assert code == 0
    paths = {s["path"] for s in doc["settings"]} | {b["path"] for b in doc["bundles"]}
    assert "sub/shadow.env" not in paths and "sub/shadow.pem" not in paths
    assert "/outside.pem" not in text
    assert (
        doc["skipped"]["symlink or special file"] == 6
    )  # two links out, a dangling pair and two FIFOs (a linked directory is not entered)


def _store(path: Path, password: str) -> None:
    bundle = BUNDLES / "global-bundle-2023.pem"
    if not bundle.exists():
        pytest.skip(f"{bundle} is not on this machine")
    write_p12_truststore(path, x509.load_pem_x509_certificates(bundle.read_bytes()), password, "rds")


SECRETS = ("RealKsPw4455", "WrongKsPw9911", "DefaultKsPw3344", "DsnSecretQQ9", "DbPassw0rdXYZ")


@pytest.mark.timeout(60)
def test_passwords_in_the_tree_never_reach_any_output(capsys, tmp_path, monkeypatch):
    _secret_tree(tmp_path)
    texts = []
    for extra in ((), ("--password-env", "KS")):
        monkeypatch.setenv("KS", "RealKsPw4455")
        for fmt in ("table", "json"):
            code, out, err = run(capsys, "--debug", "trust", "scan", str(tmp_path), "--format", fmt, *extra)
            assert code in (0, 3)
            texts.append(out + err)
    joined = "\n".join(texts)
    assert "store.p12" in joined
    assert not [s for s in SECRETS if s in joined]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fault", ["html_error", "garbage_reply", "reset_before"])
def test_notices_through_a_broken_network_is_one_line_each(capsys, estate, fault_proxy, fault):
    from support import faultproxy

    # Health's calls only (its global endpoint signs in us-east-1); the account is identified first.
    for action in sandbox_health.OPERATIONS:
        fault_proxy.add(getattr(faultproxy, fault)(action=action, region="us-east-1"))
    code, out, err = run(capsys, "notices", "--format", "json")
    # Every account is named as unread (exit 4), a garbled reply too: not read as "no notices".
    assert code == 4, err
    for account in ("111111111111", "222222222222"):
        assert [line for line in err.splitlines() if line.startswith(f"notices: account {account}: ")], err
    assert "Traceback" not in err and "unexpected" not in err.lower() and "<html" not in err.lower()
    assert not [a for a in json.loads(out)["accounts"] if a["ok"]]


@pytest.mark.timeout(120)
def test_notices_with_nothing_listening_is_one_line(capsys, sandbox_env, monkeypatch):
    import socket

    with socket.socket() as s:  # a loopback port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, _, err = run(capsys, "notices")
    assert code == 1, err
    assert len(err.strip().splitlines()) <= 3 and "unexpected" not in err.lower()


def _secret_tree(root: Path) -> None:
    _store(root / "certs/store.p12", "RealKsPw4455")
    write(
        root,
        "jvm.options",
        "-Djavax.net.ssl.trustStore=/certs/store.p12\n-Djavax.net.ssl.trustStorePassword=WrongKsPw9911\n",
    )
    write(
        root,
        "app.properties",
        "x.url=jdbc:mysql://h/db?sslMode=VERIFY_IDENTITY&trustCertificateKeyStoreUrl=file:/certs/store.p12"
        "&trustCertificateKeyStorePassword=${KS_PW:DefaultKsPw3344}\n",
    )
    write(
        root,
        ".env",
        "DATABASE_URL=postgresql://app:DsnSecretQQ9@db.example.com/app?sslmode=verify-full&sslrootcert=/x.pem\n",
    )
    write(
        root,
        "config/database.yml",
        "production:\n  adapter: postgresql\n  sslmode: require\n  password: DbPassw0rdXYZ\n",
    )


@pytest.mark.timeout(180)
def test_passwords_in_a_scanned_tree_never_reach_readiness_output(capsys, demo, tmp_path, monkeypatch):
    _secret_tree(tmp_path)
    monkeypatch.setenv("KS", "RealKsPw4455")
    texts = []
    for fmt in ("table", "json"):
        code, out, err = run(
            capsys,
            "--debug",
            "readiness",
            "--to",
            "rds-ca-rsa2048-g1",
            "--scan",
            str(tmp_path),
            "--password-env",
            "KS",
            "--format",
            fmt,
        )
        assert code in (0, 3, 4), err
        texts.append(out + err)
    joined = "\n".join(texts)
    assert "config/database.yml:3" in joined  # the tree was read
    assert not [s for s in SECRETS if s in joined]
