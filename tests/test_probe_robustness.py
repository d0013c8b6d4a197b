"""The probe against misbehaving servers started here: every one ends as a result, never a crash.

Also: bad input (exit 2), the JSON contract, `probe_many`, and the pure trust verdict.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rdsca.cli.app import main
from rdsca.readiness.probe import Endpoint, Outcome, Protocol, probe_many
from rdsca.readiness.probe_chain import assess_trust
from rdsca.sandbox.pki import make_hierarchy

NOW = datetime.now(UTC)
Behaviour = Callable[[socket.socket], None]


def _serve(behaviour: Behaviour) -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    conns: list[socket.socket] = []

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener was closed: the test is over
                return
            conns.append(conn)
            threading.Thread(target=_safe, args=(behaviour, conn), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    for c in conns:
        c.close()


def _safe(behaviour: Behaviour, conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        behaviour(conn)


def _garbage(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
    time.sleep(0.5)


def _close_at_once(conn: socket.socket) -> None:
    conn.close()


def _silent(conn: socket.socket) -> None:
    time.sleep(5)


def _pg_no_ssl(conn: socket.socket) -> None:
    conn.recv(8)
    conn.sendall(b"N")
    time.sleep(0.3)


def _pg_yes_then_garbage(conn: socket.socket) -> None:
    conn.recv(8)
    conn.sendall(b"S" + b"\x00garbage-not-tls" * 8)
    time.sleep(0.3)


def _mysql_greeting(ssl_flag: bool) -> bytes:
    caps = 0xF7FF if ssl_flag else 0xF7FF & ~0x0800
    body = b"\x0a" + b"8.0.36-fake\x00" + struct.pack("<I", 7) + b"12345678" + b"\x00"
    body += struct.pack("<H", caps) + b"\x21" + struct.pack("<H", 2) + struct.pack("<H", 0) + bytes(11)
    return len(body).to_bytes(3, "little") + b"\x00" + body


def _mysql_no_ssl(conn: socket.socket) -> None:
    conn.sendall(_mysql_greeting(False))
    time.sleep(0.3)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[int]:
    yield from _serve(request.param)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, float]:  # type: ignore[type-arg]
    started = time.monotonic()
    code = main(["probe", *args, "--format", "json"])
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    return code, json.loads(out)["results"][0], elapsed


@pytest.mark.parametrize(
    ("server", "protocol", "outcome", "words"),
    [
        (_garbage, "postgres", "not-server", "not a PostgreSQL server"),
        (_garbage, "mysql", "not-server", "not a MySQL server"),
        (_garbage, "tls", "not-server", "not a TLS server"),
        (_close_at_once, "postgres", "closed", "closed the connection"),
        (_close_at_once, "mysql", "closed", "closed the connection"),
        (_pg_no_ssl, "postgres", "no-tls", "no TLS"),
        (_pg_yes_then_garbage, "postgres", "not-server", "not a PostgreSQL server"),
        (_mysql_no_ssl, "mysql", "no-tls", "does not offer SSL"),
    ],
    indirect=["server"],
)
def test_misbehaving_servers_are_results(
    server: int, protocol: str, outcome: str, words: str, capsys
) -> None:  # type: ignore[no-untyped-def]
    code, r, _ = _run(capsys, f"127.0.0.1:{server}", "--protocol", protocol, "--timeout", "2")
    assert r["outcome"] == outcome, r["message"]
    assert words in r["message"]
    assert code == (3 if outcome == "no-tls" else 1)
    assert r["chain"] == []


@pytest.mark.parametrize("server", [_silent], indirect=True)
@pytest.mark.parametrize("protocol", ["postgres", "mysql", "tls"])
def test_a_server_that_never_answers_times_out_in_bounded_time(server: int, protocol: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, r, elapsed = _run(capsys, f"127.0.0.1:{server}", "--protocol", protocol, "--timeout", "0.5")
    assert code == 1
    assert r["outcome"] == "timeout" and "timed out" in r["message"]
    assert 0.4 < elapsed < 2.0


def test_nothing_listening_is_connection_refused(capsys) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        code, r, _ = _run(capsys, f"127.0.0.1:{port}")
    assert code == 1
    assert r["outcome"] == "refused" and "connection refused" in r["message"]
    assert r["offers_tls"] is None


def test_unresolvable_host(capsys) -> None:  # type: ignore[no-untyped-def]
    code, r, _ = _run(capsys, "no-such-host.invalid:5432", "--timeout", "2")
    assert code == 1 and r["outcome"] == "unreachable"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["probe", "db.example.com:99999"], "out of range"),
        (["probe", "db:5432:7"], "expected HOST:PORT"),
        (["probe", "db.example.com", "--protocol", "tls"], "expected HOST:PORT"),
        (["probe", "127.0.0.1:5432", "--bundle", "/nonexistent/bundle.pem"], "no such file"),
        (["probe", "127.0.0.1:5432", "--protocol", "oracle"], "oracle"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_bundle_that_is_not_certificates_exits_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bundle.pem"
    bad.write_bytes(b"\x00\x01 not a certificate")
    assert main(["probe", "127.0.0.1:5432", "--bundle", str(bad)]) == 2
    err = capsys.readouterr().err  # the readers of `trust check`: one line, exit 2
    assert "is not a certificate bundle" in err and len(err.strip().splitlines()) == 1


def test_probe_many_keeps_order_and_mixes_outcomes() -> None:
    gens = [_serve(_garbage), _serve(_close_at_once)]
    ports = [next(g) for g in gens]
    endpoints = [Endpoint("127.0.0.1", p, Protocol.POSTGRES, label=f"db{i}") for i, p in enumerate(ports)]
    endpoints.append(Endpoint("127.0.0.1", 1, Protocol.POSTGRES, label="db2"))
    results = probe_many(endpoints, timeout=2, concurrency=2)
    assert [r.endpoint.label for r in results] == ["db0", "db1", "db2"]
    assert [r.outcome for r in results] == [Outcome.NOT_SERVER, Outcome.CLOSED, Outcome.REFUSED]
    assert probe_many([]) == []
    for g in gens:
        next(g, None)


# --- the pure verdict: (chain, bundle, hostname, now) -> trusted + why -------------------------

OLD = make_hierarchy("old", now=NOW)
NEW = make_hierarchy("new", now=NOW)
SRV = NEW.issue_server(now=NOW)
CHAIN = [SRV.leaf.cert, SRV.intermediate.cert]


def test_trust_verdict_root_in_bundle() -> None:
    v = assess_trust(CHAIN, [OLD.root.cert, NEW.root.cert], hostname="localhost", now=NOW)
    assert v.trusted and v.path[-1] == "Amazon RDS us-east-1 Root CA RSA2048 G1"


def test_trust_verdict_wrong_root_says_which_issuer_is_missing() -> None:
    v = assess_trust(CHAIN, [OLD.root.cert], hostname="localhost", now=NOW)
    assert not v.trusted
    assert "Amazon RDS us-east-1 Root CA RSA2048 G1" in v.reason and "Amazon RDS Root 2019 CA" in v.reason


def test_trust_verdict_same_name_other_key_is_not_trusted() -> None:
    impostor = make_hierarchy("new", now=NOW)  # same names, other keys
    v = assess_trust(CHAIN, [impostor.root.cert], hostname="localhost", now=NOW)
    assert not v.trusted and "another key" in v.reason


def test_trust_verdict_checks_hostname_ip_and_time() -> None:
    assert assess_trust(CHAIN, [NEW.root.cert], hostname="127.0.0.1", now=NOW).trusted
    mismatch = assess_trust(CHAIN, [NEW.root.cert], hostname="db.example.com", now=NOW)
    assert not mismatch.trusted and "hostname mismatch" in mismatch.reason
    late = assess_trust(CHAIN, [NEW.root.cert], hostname="localhost", now=NOW + timedelta(days=400))
    assert not late.trusted and "expired" in late.reason
    assert not assess_trust([], [NEW.root.cert], hostname=None, now=NOW).trusted


def test_trust_verdict_pinned_intermediate_without_root_fails_like_openssl() -> None:
    v = assess_trust(CHAIN, [NEW.intermediate.cert], hostname="localhost", now=NOW)
    assert not v.trusted
    ok = assess_trust([SRV.leaf.cert], [NEW.intermediate.cert, NEW.root.cert], hostname=None, now=NOW)
    assert ok.trusted  # the server sent no intermediate, but the bundle holds it


def test_json_contract_keys(capsys) -> None:  # type: ignore[no-untyped-def]
    """The JSON envelope is an interface: these keys stay."""
    main(["probe", "127.0.0.1:1", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "rdsca.probe/1"
    assert set(doc["results"][0]) >= {
        "endpoint", "outcome", "message", "offers_tls", "server_info", "tls_version", "cipher",
        "elapsed_ms", "full_chain", "chain", "rds_ca", "bundle",
    }  # fmt: skip


def test_ssl_module_agrees_on_tls_context() -> None:
    assert ssl.HAS_TLSv1_3
