"""rdsca's readiness prediction against what real database clients do across a real CA rotation.

Every case is a fixture tree under tests/clients/cases/, configured the way applications configure
that client. `rdsca trust scan` (with the test CAs given by --catalogue-bundle) predicts each one;
then the real client (psql, psycopg, PyMySQL, mysql-connector-python, SQLAlchemy, the mariadb CLI,
pgjdbc, MariaDB Connector/J, node pg, mysql2), reading the same files, connects to the real
PostgreSQL and MariaDB servers while they present the old chain, the new chain and a look-alike of
it (tests/support/clients.py). A prediction that the real client contradicts fails its case; a
false "ok" (ok or no-verification, then the client breaks) is called out as such.

A disagreement that is known and not yet fixed in rdsca's rules is a strict xfail naming what is
wrong: it turns into a failure the moment the rule is fixed, so that the mark is removed.
The figures and the full table: bench/readiness_accuracy.py writes docs/readiness-accuracy.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rdsca.cli.app import main
from support import clients, realdb
from support.clients import CASES, Case, Matrix, Row
from support.sandbox import SandboxHandle

pytestmark = [pytest.mark.realdb, pytest.mark.slow]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    realdb.require_servers()
    return clients.run_matrix(work=tmp_path_factory.mktemp("client-matrix"))


def row_of(matrix: Matrix, case: Case) -> Row:
    row = next(r for r in matrix.rows if r.case.id == case.id)
    if row.outcome == "skipped":
        clients._skip_or_fail(row.skip_reason)
    return row


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.known)] if case.known else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_prediction_matches_the_real_client(matrix: Matrix, case: Case) -> None:
    row = row_of(matrix, case)
    settings = "\n".join(
        f"  {s['path']}:{s['line']} {s['client']} {s['setting']} -> {s['verdict']}: {s['detail']}"
        for s in row.settings
    )
    story = (
        f"{case.client}, {case.config}: rdsca says {row.prediction}, the real client "
        f"{clients.OUTCOME_TEXT.get(row.outcome, row.outcome)} ({row.evidence()})\n{settings}"
    )
    assert not row.false_ok, f"FALSE OK: {story}"
    assert row.agrees, story


def test_the_matrix_sees_every_kind_of_outcome(matrix: Matrix) -> None:
    """The comparison has teeth only if the servers really rotated, really forced TLS and the
    look-alike CA really separated verifying clients from the others."""
    outcomes = {r.case.id: r.outcome for r in matrix.rows if r.outcome != "skipped"}
    assert {"breaks", "verified", "unverified", "falls-back", "plaintext"} <= set(outcomes.values())
    # libpq prefer with the 2019 root: plaintext where the server admits it, broken where it does not
    assert outcomes.get("psql-env-prefer-old-root") == "falls-back"
    assert outcomes.get("psql-env-prefer-old-root@forced-tls") == "breaks"
    # Every case connected to the old chain, except the one that never could.
    assert {cid for cid, o in outcomes.items() if o == "fails-before"} <= {
        c.id for c in CASES if c.fails_before
    }


def test_no_case_is_left_without_a_finding(matrix: Matrix) -> None:
    """Each tree yields at least one connection setting: a case rdsca cannot see at all is a
    miss of its own, reported here rather than hidden in the agreement table."""
    unseen = [r.case.id for r in matrix.rows if r.prediction == "not-found" and not r.case.known]
    assert not unseen, f"trust scan found no setting in: {', '.join(unseen)}"


@pytest.fixture
def demo_env(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    return sandbox_env


@pytest.mark.parametrize(
    ("case_name", "verdict", "code"),
    [("psql-env-verify-ca-old", "at-risk", 3), ("mysql2-ssl-ca-both", "ready", 0)],
)
def test_readiness_scan_reads_the_same_trees(
    matrix: Matrix,
    demo_env: SandboxHandle,
    tmp_path: Path,
    case_name: str,
    verdict: str,
    code: int,
) -> None:
    """`rdsca readiness --scan` of a matrix tree: at risk where the real client broke; ready where
    it kept connecting verified, once the bundle its setting names is given as evidence too
    (instances of the test hierarchies' region only)."""
    row = next(r for r in matrix.rows if r.case.name == case_name)
    assert row.outcome == ("breaks" if verdict == "at-risk" else "verified"), row.evidence()
    tree = matrix.work / "trees" / case_name
    evidence = ["--scan", str(tree)]
    if verdict == "ready":
        evidence += ["--bundle", str(next((tree / "certs").iterdir()))]
    out = tmp_path / "readiness.json"
    got = main(
        [
            "readiness",
            "--to",
            clients.TARGET,
            "--region",
            clients.REGION,
            "--no-probe",
            *evidence,
            "--catalogue-bundle",
            str(realdb.pki().known_cas),
            "--format",
            "json",
            "-o",
            str(out),
        ]
    )
    doc = json.loads(out.read_text())
    assert doc["instances"], "the demo estate has instances in us-east-1"
    assert {i["verdict"] for i in doc["instances"]} == {verdict}, doc["instances"][0]["reasons"]
    assert got == code
