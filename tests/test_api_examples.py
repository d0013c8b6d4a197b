"""The three worked examples of docs/api.md, run as written against the sandbox."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rdsca.rollout.journal import Journal
from support.sandbox import SandboxHandle

DOC = Path(__file__).parent.parent / "docs" / "api.md"


def example(name: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    found = [b for b in blocks if b.startswith(f"# example: {name}\n")]
    assert len(found) == 1, f"docs/api.md has no example {name!r}"
    return found[0]


@pytest.fixture
def demo(sandbox_env: SandboxHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SandboxHandle:
    sandbox_env.control.seed_demo()
    monkeypatch.setenv(
        "RDSCA_CATALOGUE_BUNDLE", str(Path(dict(sandbox_env.control.pki()["files"])["new-bundle.pem"]))
    )
    monkeypatch.chdir(tmp_path)
    return sandbox_env


def test_a_scheduled_audit_writes_json_and_a_prometheus_textfile(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(example("scheduled-audit"), "docs/api.md", "exec"), {})
    doc = json.loads(Path("audit.json").read_text())
    assert doc["schema"] == "rdsca.audit/1" and doc["instances"]
    prom = Path("rdsca.prom").read_text()
    # one days-left sample per instance of the JSON, for the textfile collector
    with_days = [i for i in doc["instances"] if i["days_left"] is not None]
    assert with_days and prom.count("\nrdsca_days_left{") == len(with_days), prom[:500]
    assert "need action within 90 days" in capsys.readouterr().out


def test_applying_one_wave_with_a_custom_progress_sink(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(example("apply-one-wave"), "docs/api.md", "exec"), {})
    out = capsys.readouterr().out
    assert " done " in out and "wave dev:" in out and "legacy-dev-mysql57: verified" in out, out
    j = Journal(Path("journal.sqlite"))
    steps = j.steps(j.runs()[-1].id)
    assert {s.wave for s in steps} == {"dev"} and {s.status for s in steps} == {"verified"}
    assert demo.control.call_count("ModifyDBInstance") == len(steps)


def test_readiness_of_one_instance_from_a_bundle_and_a_source_tree(
    demo: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bundle = Path(dict(demo.control.pki()["files"])["new-bundle.pem"])
    src = tmp_path / "service"
    (src / "certs").mkdir(parents=True)
    shutil.copy(bundle, src / "certs" / "rds.pem")
    (src / "db.py").write_text('DSN = "host=orders sslmode=verify-full sslrootcert=certs/rds.pem"\n')
    exec(compile(example("readiness-one-instance"), "docs/api.md", "exec"),
         {"BUNDLE": str(bundle), "SOURCE_TREE": str(src), "EXTRA_CAS": [str(bundle)]})  # fmt: skip
    out = capsys.readouterr().out
    assert "orders-prod-pg ready\n" in out, out  # the example prints id and verdict (a StrEnum)
