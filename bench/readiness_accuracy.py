"""Readiness accuracy: rdsca's prediction against real clients across a real CA rotation.

Runs the real-client matrix of the test suite (tests/support/clients.py: real PostgreSQL 15 and
MariaDB 10.11 on loopback ports, real clients configured by the fixture trees in tests/clients/cases)
and writes the agreement table to docs/readiness-accuracy.md.

    .venv/bin/python bench/readiness_accuracy.py [--out docs/readiness-accuracy.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import clients  # noqa: E402  (the matrix lives with the tests)
from support.clients import OUTCOME_TEXT, Matrix, Row  # noqa: E402

HEADER = """# Readiness accuracy: predictions against real clients

Each row is one real database client, configured by a small tree of files written the way
applications configure it (a `pg_service.conf`, a `.env`, Django `settings.py`, a SQLAlchemy module,
Spring `application.properties`, `my.cnf`, a Node `db.js`). **rdsca's prediction** is the most severe
verdict `rdsca trust scan` gives the connection settings of that tree (the test CAs passed with
`--catalogue-bundle`, target `rds-ca-rsa2048-g1` in us-east-1). **The real outcome** is what the
client does, reading the same files, against real PostgreSQL 15 and MariaDB 10.11 servers that
present the old hierarchy's chain, then the new one (a rotation by `pg_reload_conf()` / `FLUSH SSL`),
then a look-alike of the new one (same names, other keys: a client that connects to it verifies
nothing). Rows marked *forced TLS* run while the server refuses plaintext (PostgreSQL `hostssl`
only, MariaDB `require_secure_transport=ON`), as RDS for PostgreSQL 15 and later does by default.

A prediction agrees with the outcome when:

| real outcome | predictions that agree |
|---|---|
| breaks after the rotation | `will-break` |
| connects after it, in plaintext (it fell back) | `plaintext-fallback`, or `will-break` (1) |
| connects after it, verified | `ok` |
| connects after it, unverified | `no-verification`, or `plaintext-fallback` (prefer without a root file) |
| connects in plaintext throughout | `no-tls` |
| cannot connect even before (a case built that way) | `will-break`, `unknown` |

(1) A source tree cannot say whether the server admits plaintext; where it does not (the forced-TLS
rows), the same client breaks.

A **false ok** is `ok` or `no-verification` for a client that then breaks: the one mistake that
causes an outage. The same comparison runs in the test suite (`tests/test_client_matrix.py`),
where a known disagreement is an expected failure naming what is wrong.
"""


def _tool_version(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except OSError:
        return "not installed"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "?"


def _jar_version(jar: Path) -> str:
    try:
        with zipfile.ZipFile(jar) as z:
            manifest = z.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return "not installed"
    for key in ("Implementation-Version: ", "Bundle-Version: "):
        for line in manifest.splitlines():
            if line.startswith(key):
                return line[len(key) :].strip()
    return "?"


def _npm_version(name: str) -> str:
    lock = clients.NODE_DIR / "package-lock.json"
    packages = json.loads(lock.read_text()).get("packages", {})
    return str(packages.get(f"node_modules/{name}", {}).get("version", "?"))


def _py_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def versions() -> list[tuple[str, str]]:
    return [
        ("psql", _tool_version(["psql", "--version"])),
        ("mariadb", _tool_version(["mariadb", "--version"])),
        ("java", _tool_version(["java", "-version"])),
        ("pgjdbc", _jar_version(clients.JARS[0])),
        ("MariaDB Connector/J", _jar_version(clients.JARS[1])),
        ("node", _tool_version(["node", "--version"])),
        ("pg / mysql2 (npm)", f"{_npm_version('pg')} / {_npm_version('mysql2')}"),
        ("psycopg", _py_version("psycopg")),
        ("PyMySQL", _py_version("PyMySQL")),
        ("mysql-connector-python", _py_version("mysql-connector-python")),
        ("SQLAlchemy", _py_version("SQLAlchemy")),
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _agree(row: Row) -> str:
    if row.outcome == "skipped":
        return "skipped"
    if row.agrees:
        return "yes"
    return "**NO: false ok**" if row.false_ok else "**no**"


def render(matrix: Matrix, load: tuple[float, float, float]) -> str:
    rows = matrix.rows
    ran = [r for r in rows if r.outcome != "skipped"]
    agree = sum(r.agrees for r in ran)
    false_ok = [r for r in ran if r.false_ok]
    verdicts = Counter(r.prediction for r in ran)
    out = [HEADER]
    out.append("## Summary\n")
    out.append(
        f"- {len(ran)} client configurations ran ({len(rows) - len(ran)} skipped): **{agree} agree, "
        f"{len(ran) - agree} disagree, {len(false_ok)} false ok**."
    )
    out.append("- Predictions: " + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items())) + ".")
    out.append(
        f"- Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores ({platform.machine()}), load "
        f"average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the start; the whole matrix took "
        f"{matrix.seconds:.0f} s ("
        + ", ".join(f"{step} {secs:.1f} s" for step, secs in matrix.timings.items())
        + ")."
    )
    out.append("\n## The matrix\n")
    out.append("| client | configuration | rdsca predicts | real outcome | agree |")
    out.append("|---|---|---|---|---|")
    for r in rows:
        config = r.case.config + (" *(forced TLS)*" if r.case.forced_tls else "")
        real = OUTCOME_TEXT.get(r.outcome, r.outcome) if r.outcome != "skipped" else r.skip_reason
        out.append(
            f"| {_cell(r.case.client)} | {_cell(config)} | `{r.prediction}` | {_cell(real)} | {_agree(r)} |"
        )
    wrong = [r for r in ran if not r.agrees]
    if wrong:
        out.append("\n## Disagreements\n")
        for r in wrong:
            why = r.case.known or "not yet explained"
            out.append(
                f"- **{r.case.client}, {_cell(r.case.config)}** (`{r.case.id}`): {why}. Real: {r.evidence()}"
            )
    unknown = [r for r in ran if r.prediction == "unknown"]
    if unknown:
        out.append("\n## What each `unknown` lacks\n")
        for r in unknown:
            details = "; ".join(s["detail"] for s in r.settings if s["verdict"] == "unknown")
            out.append(f"- {r.case.client}, {_cell(r.case.config)}: {_cell(details)}")
    out.append("\n## Versions\n")
    out.append("| client | version |\n|---|---|")
    out.extend(f"| {name} | {_cell(v)} |" for name, v in versions())
    out.append(
        "\nThe fixture trees are in `tests/clients/cases/`, the drivers that run the real clients in "
        "`tests/clients/` (one Python process, one Node process, one JVM per `JAVA_TOOL_OPTIONS` value, "
        "psql and mariadb once per case and phase)."
    )
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "readiness-accuracy.md")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rdsca-accuracy-") as work:
        matrix = clients.run_matrix(work=Path(work))
        args.out.write_text(render(matrix, load), encoding="utf-8")
    ran = [r for r in matrix.rows if r.outcome != "skipped"]
    agree = sum(r.agrees for r in ran)
    false_ok = sum(r.false_ok for r in ran)
    print(f"{agree}/{len(ran)} agree, {false_ok} false ok, {matrix.seconds:.0f} s: {args.out}")
    return 1 if false_ok else 0


if __name__ == "__main__":
    sys.exit(main())
