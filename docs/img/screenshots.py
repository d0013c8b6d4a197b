"""Remake the report screenshots of docs/reports.md: the audit, a run and readiness, at 1400 x 900.

    .venv/bin/python docs/img/screenshots.py

Everything runs against an in-process sandbox seeded with the demo fleet (nothing leaves the
machine): `rdsca report`, then `rdsca readiness` + `rdsca report --readiness`, then a plan of the dev
and staging waves applied with one instance made to fail, rolled back, and `rdsca report --run`.
Each page is captured by headless Chromium (`--screenshot --window-size=1400,900`): what a reader
sees first on a laptop screen.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

from rdsca.cli.app import main
from rdsca.sandbox.control import SandboxControl
from rdsca.sandbox.environment import UNSET, environment
from rdsca.sandbox.server import SandboxServer

HERE = Path(__file__).resolve().parent
BUNDLE_2019 = HERE.parents[1] / "src/rdsca/catalog/data/rds-combined-ca-bundle-2019.pem"
CHROMIUM = ("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--window-size=1400,900")  # fmt: skip
A1, US, FAILING = "111111111111", "us-east-1", "legacy-dev-mysql57"


def rdsca(*args: str) -> str:
    out = StringIO()
    with redirect_stdout(out), redirect_stderr(StringIO()):
        main(list(args))
    return out.getvalue()


def shoot(page: Path, png: Path) -> None:
    subprocess.run([*CHROMIUM, f"--screenshot={png}", page.as_uri()], check=True, capture_output=True)
    print(f"{png.relative_to(HERE.parents[1])}: {png.stat().st_size // 1000} KB")


def run() -> None:
    with SandboxServer(reboot_seconds=0.2) as server, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        control = SandboxControl(server.url)
        control.seed_demo()
        for name in UNSET:
            os.environ.pop(name, None)
        os.environ.update(environment(server.url))
        rdsca("report", "-o", str(work / "audit.html"))
        shoot(work / "audit.html", HERE / "report-audit.png")
        saved = work / "readiness.json"
        rdsca("readiness", "--to", "rds-ca-rsa2048-g1", "--bundle", str(BUNDLE_2019), "--no-probe",
              "-f", "json", "-o", str(saved))  # fmt: skip
        rdsca("report", "--readiness", str(saved), "-o", str(work / "readiness.html"))
        shoot(work / "readiness.html", HERE / "report-readiness.png")
        plan, journal = work / "plan.json", work / "journal.sqlite"
        ids = (
            "analytics-dev-pg",
            "sessions-dev-mariadb",
            FAILING,
            "reports-staging-pg",
            "crm-staging-mariadb",
        )
        rdsca("plan", "--to", "rds-ca-rsa2048-g1", "--wave-tag", "env", "--wave-order", "dev,staging",
              *(a for i in ids for a in ("--id", i)), "-o", str(plan))  # fmt: skip
        control.misbehave(A1, US, FAILING, "fail")
        out = rdsca("apply", str(plan), "--journal", str(journal), "--poll-interval", "0.05", "--yes")
        run_id = re.search(r"^run (\S+)", out, re.M)
        if run_id is None:
            sys.exit(f"apply printed no run id:\n{out}")
        control.misbehave(A1, US, FAILING, None)
        rdsca("rollback", run_id.group(1), "--journal", str(journal), "--poll-interval", "0.05", "--yes")
        rdsca("report", "--run", run_id.group(1), "--journal", str(journal), "-o", str(work / "run.html"))
        shoot(work / "run.html", HERE / "report-run.png")


if __name__ == "__main__":
    run()
