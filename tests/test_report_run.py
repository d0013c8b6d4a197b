"""`rdsca report --run RUN`: the rollout section built from the journal of a real apply + rollback."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from rdsca.cli.app import main
from rdsca.rollout.journal import Journal

FAST = ("--poll-interval", "0.05", "--yes")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_with_a_run_shows_waves_steps_and_rollbacks(
    demo_sandbox: Any, sandbox_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal, plan = tmp_path / "j.sqlite", tmp_path / "plan.json"
    ids = ("analytics-dev-pg", "sessions-dev-mariadb")
    code, _, err = cli(
        capsys, "plan", "--to", "rds-ca-rsa2048-g1", "-o", str(plan), *(a for i in ids for a in ("--id", i))
    )
    assert code == 0, err
    code, out, err = cli(capsys, "apply", str(plan), "--journal", str(journal), *FAST)
    assert code == 0, err
    run_id = re.search(r"^run (\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    assert cli(capsys, "rollback", run_id, "--journal", str(journal), *FAST)[0] == 0

    page = tmp_path / "r.html"
    code, _, err = cli(capsys, "report", "--run", run_id, "--journal", str(journal), "-o", str(page))
    assert code == 0, err
    text = page.read_text()
    section = text[text.index('<section id="rollout">') :]
    steps = Journal(journal).steps(run_id)
    assert len(steps) == 2
    for s in steps:
        assert f'data-step="{s.key}"' in section
        assert f'data-wave="{s.wave}"' in section
    assert "<h3>Rollbacks</h3>" in section and "rolled-back" in section
    assert not re.search(r"https?:", text)


def test_report_with_an_unknown_run_is_exit_2(
    sandbox_env: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "j.sqlite"
    code, _, err = cli(capsys, "report", "--run", "nope", "--journal", str(journal))
    assert code == 2 and "no journal at" in err and not journal.exists()  # reading never creates one
    Journal(journal).close()  # an empty journal: the run is what is missing
    code, _, err = cli(capsys, "report", "--run", "nope", "--journal", str(journal))
    assert code == 2 and "no run 'nope'" in err and "Traceback" not in err
