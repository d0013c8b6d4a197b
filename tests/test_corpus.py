"""The adversarial corpus of issue 8: bad inputs, refused cleanly through the real entry point.

Every case runs `rdsca.cli.app.main([...])` and checks the same contract: no traceback, nothing
"unexpected", the exit code of docs/exit-codes.md, one `error: ...` line, and no hang (each test
has a timeout). Cases that could reach AWS also check that the sandbox saw no call.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rdsca.cli.app import main
from support.sandbox import SandboxHandle

A1 = "111111111111"
US, EU = "us-east-1", "eu-west-1"
G1, G4 = "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"
BUNDLE = Path(__file__).parents[1] / "src" / "rdsca" / "catalog" / "data" / "global-bundle-2025.pem"
FAST = ("--poll-interval", "0.05", "--yes")

pytestmark = pytest.mark.timeout(30)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def refused(result: tuple[int, str, str], code: int, *fragments: str) -> str:
    """The command ended with `code` and one clean error line holding every fragment; that line."""
    got, out, err = result
    assert "Traceback" not in out + err, err
    assert "unexpected" not in (out + err).lower(), err
    assert got == code, (got, out, err)
    lines = [line for line in err.splitlines() if line.lower().startswith("error: ")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- special files, made in tmp_path -----------------------------------------------------------


def _fifo(tmp: Path) -> Path:
    path = tmp / "fifo"
    os.mkfifo(path)
    return path


def _fifo_link(tmp: Path) -> Path:
    link = tmp / "link-to-fifo"
    link.symlink_to(_fifo(tmp))
    return link


def _socket(tmp: Path) -> Path:
    path = tmp / "s.sock"
    if len(str(path)) > 100:
        pytest.skip("tmp_path too long for a Unix socket")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return path  # the socket object is collected; the node stays


SPECIAL: dict[str, tuple[Callable[[Path], Path], str]] = {
    "fifo": (_fifo, "FIFO"),
    "symlink-to-fifo": (_fifo_link, "FIFO"),
    "socket": (_socket, "regular file"),
    "dev-zero": (lambda _t: Path("/dev/zero"), "device"),
    "dev-null": (lambda _t: Path("/dev/null"), "device"),
    "missing": (lambda t: t / "missing.json", "no such file"),
}


# --- 1. plan files: bytes that are not a plan, files that are not files --------------------------

PLAN_BYTES: dict[str, tuple[bytes, str]] = {
    "binary": (bytes(range(256)) * 8, "not UTF-8"),
    "latin-1": ('{"schema": "rdsca.plan/1", "note": "café"}'.encode("latin-1"), "not UTF-8"),
    "utf-16": ('{"schema": "rdsca.plan/1"}'.encode("utf-16"), "not UTF-8"),
    "deep-array": (b"[" * 100_000, "plan file"),
    "deep-object": (b'{"a":' * 100_000, "plan file"),
    "deep-but-closed": (b"[" * 5_000 + b"]" * 5_000, "plan file"),
    "5000-digit-int": (b'{"schema": "rdsca.plan/1", "n": ' + b"7" * 5000 + b"}", "digits"),
    "empty": (b"", "not valid JSON"),
    "null": (b"null", "not a JSON object"),
    "array": (b"[]", "not a JSON object"),
    "nul-bytes": (b"\0" * 64, "not valid JSON"),
    "other-schema": (b'{"schema": "rdsca.plan/9"}', "schema"),
}


@pytest.fixture
def quiet_sandbox(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.reset_calls()
    return sandbox_env


@pytest.mark.parametrize("case", sorted(PLAN_BYTES))
def test_plan_file_bytes(
    quiet_sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    data, fragment = PLAN_BYTES[case]
    plan = tmp_path / "plan.json"
    plan.write_bytes(data)
    refused(run(capsys, "apply", str(plan), "--journal", str(tmp_path / "j.sqlite"), *FAST), 2, fragment)
    assert quiet_sandbox.control.call_count() == 0
    assert not (tmp_path / "j.sqlite").exists()


@pytest.mark.parametrize("case", sorted(SPECIAL))
def test_plan_file_that_is_not_a_file(
    quiet_sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    make, fragment = SPECIAL[case]
    path = make(tmp_path)
    refused(run(capsys, "apply", str(path), "--journal", str(tmp_path / "j.sqlite"), *FAST), 2, fragment)
    assert quiet_sandbox.control.call_count() == 0


def test_plan_file_directory_and_oversize(
    quiet_sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    refused(run(capsys, "apply", str(tmp_path), *FAST), 2, "directory")
    big = tmp_path / "big.json"
    with big.open("wb") as fh:  # sparse: 65 MiB that take no disk and are never read
        fh.truncate(65 * 1024 * 1024)
    refused(run(capsys, "apply", str(big), *FAST), 2, "over the 64.0 MiB limit")
    assert quiet_sandbox.control.call_count() == 0


# --- 1b. the other input files: bundles, readiness JSON, config, passwords ---------------------


def _input_commands(path: str) -> dict[str, list[str]]:
    return {
        "trust-check": ["trust", "check", path],
        "trust-check-password-file": ["trust", "check", str(BUNDLE), "--password-file", path],
        "probe-bundle": ["probe", "127.0.0.1:1", "--bundle", path],
        "catalogue-bundle": ["trust", "check", str(BUNDLE), "--catalogue-bundle", path],
        "readiness-bundle": ["readiness", "--to", G1, "--bundle", path, "--no-probe"],
        "plan-require-ready": ["plan", "--to", G1, "--require-ready", path],
        "sessions-password-file": ["sessions", "postgresql://u@127.0.0.1:1/db", "--password-file", path],
    }


@pytest.mark.parametrize("command", sorted(_input_commands("x")))
@pytest.mark.parametrize("case", ["fifo", "symlink-to-fifo", "dev-zero", "socket"])
def test_input_file_that_is_not_a_file(
    quiet_sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, case: str
) -> None:
    make, fragment = SPECIAL[case]
    args = _input_commands(str(make(tmp_path)))[command]
    if args[0] == "plan":
        args += ["-o", str(tmp_path / "plan.json")]
    refused(run(capsys, *args), 2, fragment)
    assert quiet_sandbox.control.call_count() == 0


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[" * 100_000, "not a readiness JSON file"),
        (b'{"schema": "rdsca.readiness/1", "n": ' + b"1" * 5000 + b"}", "not a readiness JSON file"),
    ],
    ids=["binary", "deep", "5000-digits"],
)
def test_readiness_json_bytes(
    quiet_sandbox: SandboxHandle,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    data: bytes,
    fragment: str,
) -> None:
    path = tmp_path / "ready.json"
    path.write_bytes(data)
    refused(run(capsys, "plan", "--to", G1, "--require-ready", str(path), "-o", str(tmp_path / "p.json")), 2,
            fragment)  # fmt: skip
    assert quiet_sandbox.control.call_count() == 0


@pytest.mark.parametrize("case", ["fifo", "dev-zero", "latin-1", "deep"])
def test_config_file(
    sandbox_env: SandboxHandle,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    if case == "fifo":
        path, fragment = _fifo(tmp_path), "FIFO"
    elif case == "dev-zero":
        path, fragment = Path("/dev/zero"), "device"
    else:
        path = tmp_path / "rdsca.toml"
        fragment = "not UTF-8" if case == "latin-1" else "not valid TOML"
        path.write_bytes(
            'role_name = "café"'.encode("latin-1") if case == "latin-1" else b"a = " + b"[" * 50_000
        )
    monkeypatch.setenv("RDSCA_CONFIG", str(path))
    sandbox_env.control.reset_calls()
    refused(run(capsys, "audit"), 2, fragment)
    assert sandbox_env.control.call_count() == 0


# --- 2. plans whose checksum is right but whose meaning is not ------------------------------------


def checksum(doc: dict[str, Any]) -> str:
    """The way rdsca.rollout.planfile computes it: anyone can, so it proves nothing about intent."""
    body = {k: v for k, v in doc.items() if k != "checksum"}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


def _to_other_ca(doc: dict[str, Any]) -> None:
    doc["steps"][0]["to_ca"] = G4


def _duplicate_step(doc: dict[str, Any]) -> None:
    doc["steps"].append(dict(doc["steps"][0]))


def _unknown_dependency(doc: dict[str, Any]) -> None:
    doc["steps"][0]["depends_on"] = [f"{A1}/{US}/no-such-instance"]


def _self_dependency(doc: dict[str, Any]) -> None:
    doc["steps"][0]["depends_on"] = [doc["steps"][0]["key"]]


def _cycle(doc: dict[str, Any]) -> None:
    a, b, c = doc["steps"][:3]
    a["depends_on"], b["depends_on"], c["depends_on"] = [b["key"]], [c["key"]], [a["key"]]


def _key_for_another_instance(doc: dict[str, Any]) -> None:
    doc["steps"][0]["id"] = doc["steps"][1]["id"]


def _step_outside_targets(doc: dict[str, Any]) -> None:
    step = doc["steps"][0]
    step["account"] = "999999999999"
    step["key"] = f"999999999999/{step['region']}/{step['id']}"


def _target_without_region(doc: dict[str, Any]) -> None:
    del doc["targets"][0]["region"]


def _bad_scope_tag(doc: dict[str, Any]) -> None:
    doc["scope"]["tags"] = [["env"]]


def _skipped_not_object(doc: dict[str, Any]) -> None:
    doc["skipped"] = [1]


def _nan_parallel(doc: dict[str, Any]) -> None:
    doc["policy"]["max_parallel"] = float("nan")


def _seen_not_strings(doc: dict[str, Any]) -> None:
    doc["seen"] = {"k": [1, 2, 3, 4]}


def _apply_action_without_action(doc: dict[str, Any]) -> None:
    doc["steps"][0]["kind"] = "apply-maintenance-action"
    doc["steps"][0]["action"] = None


MEANING: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "step-to-another-ca": (_to_other_ca, f"goes to {G4}, not to the plan's target {G1}"),
    "duplicate-step": (_duplicate_step, "appears twice"),
    "unknown-dependency": (_unknown_dependency, "not a step of the plan"),
    "self-dependency": (_self_dependency, "cycle"),
    "dependency-cycle": (_cycle, "cycle"),
    "key-of-another-instance": (_key_for_another_instance, "does not match its account, region and id"),
    "step-outside-targets": (_step_outside_targets, "not a target of the plan"),
    "target-without-region": (_target_without_region, "targets"),
    "scope-tag-not-a-pair": (_bad_scope_tag, "scope.tags"),
    "skipped-not-objects": (_skipped_not_object, "skipped"),
    "max-parallel-nan": (_nan_parallel, "max_parallel"),
    "seen-not-strings": (_seen_not_strings, "seen"),
    "apply-action-without-action": (_apply_action_without_action, "names none"),
}

_PLAN: dict[str, str] = {}  # one real plan for the module; meaning errors are found before AWS


@pytest.fixture
def plan_doc(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> dict[str, Any]:
    if "text" not in _PLAN:
        sandbox_env.control.seed_demo()
        path = tmp_path / "plan.json"
        code, _, err = run(capsys, "plan", "--to", G1, "-o", str(path))
        assert code == 0, err
        _PLAN["text"] = path.read_text()
    doc: dict[str, Any] = json.loads(_PLAN["text"])
    assert len(doc["steps"]) >= 3 and doc["target_ca"] == G1
    sandbox_env.control.reset_calls()
    return doc


def test_a_recomputed_checksum_alone_passes(plan_doc: dict[str, Any]) -> None:
    """The control for the cases below: the test's checksum is the code's, so a refusal there is
    the meaning check and not the checksum."""
    from rdsca.api.target_ca import known_cas
    from rdsca.rollout import planfile

    plan_doc["checksum"] = checksum(plan_doc)
    assert planfile.loads(json.dumps(plan_doc), known_cas()).target_ca == G1


@pytest.mark.parametrize("case", sorted(MEANING))
def test_plan_meaning_is_checked_before_any_aws_call(
    sandbox_env: SandboxHandle,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    plan_doc: dict[str, Any],
    case: str,
) -> None:
    mutate, fragment = MEANING[case]
    mutate(plan_doc)
    plan_doc["checksum"] = checksum(plan_doc)
    path = tmp_path / "attacker.json"
    path.write_text(json.dumps(plan_doc))
    line = refused(
        run(capsys, "apply", str(path), "--journal", str(tmp_path / "j.sqlite"), *FAST), 2, fragment
    )
    assert "checksum" not in line
    assert sandbox_env.control.call_count("ModifyDBInstance") == 0
    assert sandbox_env.control.call_count() == 0


def test_a_rollback_plan_keeps_its_own_targets(tmp_path: Path) -> None:
    """Rollback plans (target "previous") send each step back to its own CA: still loadable."""
    from datetime import UTC, datetime

    from rdsca.rollout import planfile
    from rdsca.rollout.plan import Kind, Plan, PlanPolicy, Scope, Step, When

    steps = tuple(
        Step(
            f"{A1}/{US}/db{n}",
            A1,
            US,
            f"db{n}",
            "postgres",
            "16",
            Kind.MODIFY_INSTANCE,
            G1,
            ca,
            True,
            When.NOW,
            "all",
            n,
            depends_on=(f"{A1}/{US}/db0",) if n else (),
        )
        for n, ca in enumerate(["rds-ca-2019", G4])
    )
    plan = Plan(
        datetime.now(UTC), "previous", PlanPolicy(), Scope(), ((A1, US),), ("all",), steps, (), (), "x"
    )
    assert planfile.loads(planfile.dumps(plan)).steps == steps


# --- 3. numbers: nan, inf and negatives ----------------------------------------------------------


def _number_cases() -> Iterator[Any]:
    plan = "PLAN"
    for value in ("nan", "inf", "-inf", "-1", "1e999"):
        for option in ("--poll-interval", "--step-timeout", "--write-timeout"):
            yield pytest.param(["apply", plan, option, value], id=f"apply{option}={value}")
        yield pytest.param(["probe", "127.0.0.1:1", "--timeout", value], id=f"probe--timeout={value}")
        yield pytest.param(["sessions", "postgresql://u@127.0.0.1:1/d", "--timeout", value],
                           id=f"sessions--timeout={value}")  # fmt: skip
        yield pytest.param(["readiness", "--to", G1, "--timeout", value], id=f"readiness--timeout={value}")
        yield pytest.param(["demo", "--reboot-seconds", value], id=f"demo--reboot-seconds={value}")
        yield pytest.param(["sandbox", "start", "--reboot-seconds", value], id=f"sandbox-start={value}")
        yield pytest.param(["sandbox", "seed", "--retired-fraction", value], id=f"sandbox-seed={value}")
        for args in (
            ["audit", "--warn-days", value],
            ["audit", "--fail-within", value],
            ["plan", "--to", G1, "--max-parallel", value],
            ["trust", "check", str(BUNDLE), "--max-size", value],
            ["trust", "scan", ".", "--max-files", value],
            ["sandbox", "start", "--port", value],
        ):
            yield pytest.param(args, id=f"{args[0]}{args[-2]}={value}")


@pytest.mark.parametrize("args", list(_number_cases()))
def test_numbers_must_be_finite_and_in_range(
    quiet_sandbox: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str]
) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    args = [str(plan) if a == "PLAN" else a for a in args]
    refused(run(capsys, *args), 2, args[-2])  # refused for the option, not for anything else
    assert quiet_sandbox.control.call_count() == 0


# --- 4. AWS flags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--region", ""], "--region '': empty"),
        (["--region", " , "], "empty"),
        (["--region", US, "--region", ""], "empty"),
        (["--endpoint-url", "not-a-url"], "--endpoint-url 'not-a-url'"),
        (["--endpoint-url", "ftp://127.0.0.1"], "http(s)://HOST"),
        (["--endpoint-url", "http://"], "http(s)://HOST"),
        (["--endpoint-url", "http://127.0.0.1:99999"], "http(s)://HOST"),
        (["--endpoint-url", "http://[::1"], "http(s)://HOST"),
    ],
    ids=lambda v: repr(v) if isinstance(v, list) else None,
)
@pytest.mark.parametrize("command", [["audit"], ["cas"], ["plan", "--to", G1]])
def test_aws_flags(
    quiet_sandbox: SandboxHandle,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    args: list[str],
    fragment: str,
) -> None:
    refused(run(capsys, *command, *args), 2, fragment)
    assert quiet_sandbox.control.call_count() == 0


def test_trust_region_empty(capsys: pytest.CaptureFixture[str]) -> None:
    refused(run(capsys, "trust", "check", str(BUNDLE), "--region", ""), 2, "empty")


# --- 5. network peers that stall or stop half-way -----------------------------------------------


class Listener:
    """A TCP server on 127.0.0.1 that does `behave(conn)` for each connection it accepts."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.behave = behave
        self.stop = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.behave, args=(conn,), daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def listener() -> Iterator[Callable[[Callable[[socket.socket], None]], Listener]]:
    made: list[Listener] = []

    def make(behave: Callable[[socket.socket], None]) -> Listener:
        made.append(Listener(behave))
        return made[-1]

    yield make
    for one in made:
        one.close()


def _silent(conn: socket.socket) -> None:
    time.sleep(60)  # accepts, never answers


def _sends(data: bytes) -> Callable[[socket.socket], None]:
    def behave(conn: socket.socket) -> None:
        conn.sendall(data)
        conn.close()

    return behave


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_sessions_against_a_silent_server_honours_timeout(
    capsys: pytest.CaptureFixture[str], listener: Any, scheme: str
) -> None:
    server = listener(_silent)
    started = time.monotonic()
    refused(run(capsys, "sessions", f"{scheme}://u@127.0.0.1:{server.port}/db", "--timeout", "1"), 1,
            "cannot connect")  # fmt: skip
    assert time.monotonic() - started < 10


GREETINGS = {
    "5-bytes": b"\x4a\x00\x00\x00\x0a",
    "header-only": b"\x4a\x00\x00\x00",
    "short-packet": b"\x0c\x00\x00\x00\x0a5.7.0\x00\x01\x00\x00\x00\x00",  # no capabilities
    "error-packet": b"\x05\x00\x00\x00\xff\x15\x04#2",
    "garbage": b"HTTP/1.1 400 Bad Request\r\n\r\n",
    "huge-length": b"\xff\xff\xff\x00\x0a",
}


@pytest.mark.parametrize("case", sorted(GREETINGS))
def test_probe_a_truncated_mysql_greeting_is_a_classified_result(
    capsys: pytest.CaptureFixture[str], listener: Any, case: str
) -> None:
    server = listener(_sends(GREETINGS[case]))
    code, out, err = run(capsys, "probe", f"127.0.0.1:{server.port}", "-p", "mysql", "--timeout", "2")
    assert "Traceback" not in out + err and "unexpected" not in (out + err).lower()
    assert code == 1, (out, err)
    assert any(o in out for o in ("not-server", "closed", "server-error")), out


@pytest.mark.parametrize("case", sorted(GREETINGS))
def test_sessions_a_truncated_mysql_greeting_is_one_line(
    capsys: pytest.CaptureFixture[str], listener: Any, case: str
) -> None:
    server = listener(_sends(GREETINGS[case]))
    refused(run(capsys, "sessions", f"mysql://u@127.0.0.1:{server.port}/db", "--timeout", "2"), 1,
            "cannot connect")  # fmt: skip


# --- 6. every target failed is 1, some is 4 -----------------------------------------------------


ALL_TARGETS = [
    ["audit"],
    ["audit", "-f", "json"],
    ["readiness", "--to", G1, "--no-probe"],
    ["probe", "--instances"],
]


@pytest.mark.parametrize("command", ALL_TARGETS)
def test_every_target_failed_is_1_some_is_4(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    sandbox_env.control.seed_demo()
    sandbox_env.control.fault("DescribeDBInstances", code="AccessDenied")
    refused(run(capsys, *command), 1, "every target failed")
    sandbox_env.control.clear_faults()
    sandbox_env.control.fault("DescribeDBInstances", code="AccessDenied", region=EU)
    code, _, err = run(capsys, *command)
    assert code == 4 and "Traceback" not in err and "error:" not in err, err


def test_cas_every_target_failed_is_1(sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str]) -> None:
    sandbox_env.control.seed_demo()
    sandbox_env.control.fault("DescribeCertificates", code="AccessDenied")
    refused(run(capsys, "cas"), 1, "every target failed")


# --- 7. outputs: write through FIFOs and symlinks, never replace the node -----------------------


def _catalogue(capsys: pytest.CaptureFixture[str], output: Path) -> tuple[int, str, str]:
    return run(capsys, "trust", "catalogue", "-f", "json", "-o", str(output))


def test_output_to_a_fifo_is_written_through(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fifo = _fifo(tmp_path)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, _, err = _catalogue(capsys, fifo)
    reader.join(10)
    assert code == 0, err
    assert json.loads(got[0])["schema"].startswith("rdsca.")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_output_through_a_symlink_replaces_the_target_and_keeps_the_link(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "real" / "out.json"
    target.parent.mkdir()
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert _catalogue(capsys, link)[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["cas"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # an existing file keeps its mode
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]  # no temporary file left
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "new.json")
    assert _catalogue(capsys, dangling)[0] == 0
    assert dangling.is_symlink() and (tmp_path / "real" / "new.json").is_file()


def test_a_new_output_file_gets_0666_minus_umask(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        assert _catalogue(capsys, tmp_path / "new.json")[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644


def test_output_to_a_directory_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    refused(_catalogue(capsys, tmp_path), 2, "directory")


# --- 8. a full disk -----------------------------------------------------------------------------


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs, filled up (needs root and mount; skipped otherwise)."""
    where = tmp_path / "full"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode(errors='replace').strip()}")
    try:
        fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"x" * 4096):
                pass
        except OSError:
            pass  # ENOSPC: full
        finally:
            os.close(fd)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)  # lazy: an open journal keeps it busy


def test_output_on_a_full_disk_is_one_line_exit_1(
    capsys: pytest.CaptureFixture[str], full_disk: Path
) -> None:
    refused(_catalogue(capsys, full_disk / "out.json"), 1, "disk full")
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_journal_on_a_full_disk_is_one_line_exit_1(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path, full_disk: Path
) -> None:
    sandbox_env.control.seed_demo()
    plan = tmp_path / "plan.json"
    assert run(capsys, "plan", "--to", G1, "--region", US, "-o", str(plan))[0] == 0
    sandbox_env.control.reset_calls()
    refused(run(capsys, "apply", str(plan), "--journal", str(full_disk / "j.sqlite"), *FAST), 1, "full")
    assert sandbox_env.control.call_count("ModifyDBInstance") == 0
