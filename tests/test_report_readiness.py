"""`rdsca report --readiness FILE`: the clients at risk in the HTML report, from a saved readiness run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rdsca.cli.app import main
from support.sandbox import SandboxHandle

OLD_BUNDLE = Path(__file__).parents[1] / "src/rdsca/catalog/data/rds-combined-ca-bundle-2019.pem"


def test_readiness_section_in_report(
    sandbox_env: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox_env.control.seed_demo()
    saved = tmp_path / "readiness.json"
    code = main(["readiness", "--to", "rds-ca-rsa2048-g1", "--bundle", str(OLD_BUNDLE), "--no-probe",
                 "--tag", "env=dev", "--format", "json", "--output", str(saved)])  # fmt: skip
    assert code == 3
    doc = json.loads(saved.read_text())
    assert doc["schema"] == "rdsca.readiness/1" and doc["summary"] == {"at-risk": len(doc["instances"])}
    page = tmp_path / "report.html"
    assert main(["report", "--readiness", str(saved), "--output", str(page), "--tag", "env=dev"]) == 0
    html = page.read_text()
    assert 'id="readiness"' in html and "Client readiness" in html
    assert html.count('data-verdict="at-risk"') == len(doc["instances"])
    assert "does not trust rds-ca-rsa2048-g1" in html
    capsys.readouterr()


@pytest.mark.parametrize("content", ["", "{not json", '{"schema": "rdsca.audit/1", "instances": []}'])
def test_bad_readiness_file_is_a_clear_error(
    sandbox_env: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    bad = tmp_path / "r.json"
    bad.write_text(content)
    sandbox_env.control.reset_calls()
    code = main(["report", "--readiness", str(bad), "--output", str(tmp_path / "x.html")])
    err = capsys.readouterr().err
    assert code == 2 and f"--readiness {bad}" in err and "Traceback" not in err
    assert not (tmp_path / "x.html").exists()
    assert sandbox_env.control.call_count() == 0  # refused before any AWS call


def test_report_in_other_formats(
    sandbox_env: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox_env.control.seed_demo()
    assert main(["report", "--format", "prometheus"]) == 0
    out = capsys.readouterr().out
    assert (
        "rdsca_certificate_expiry_timestamp_seconds{" in out and not (tmp_path / "rdsca-report.html").exists()
    )
    assert main(["report", "--format", "markdown", "--output", str(tmp_path / "r.md")]) == 0
    assert (tmp_path / "r.md").read_text().startswith("# RDS CA audit")
    assert main(["report", "--format", "markdown", "--run", "x"]) == 2
    assert "use --format html" in capsys.readouterr().err


def test_readiness_section_shows_the_target_cas_the_clients_can_use(
    sandbox_env: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scanned tree with Prisma (whose schema engine refuses ECC certificates): the report says, in the
    lead and on each instance's row, that rsa2048 and rsa4096 are usable and ecc384 is not."""
    sandbox_env.control.seed_demo()
    tree = tmp_path / "orders"
    (tree / "prisma").mkdir(parents=True)
    (tree / "prisma" / "schema.prisma").write_text(
        'datasource db {\n  provider = "postgresql"\n  url      = env("DATABASE_URL")\n}\n'
    )
    saved = tmp_path / "readiness.json"
    main(["readiness", "--to", "rds-ca-rsa2048-g1", "--scan", str(tree), "--no-probe", "--tag", "env=dev",
          "--format", "json", "--output", str(saved)])  # fmt: skip
    doc = json.loads(saved.read_text())
    fits = doc["instances"][0]["target_cas"]
    assert fits["rds-ca-ecc384-g1"]["usable"] is False and fits["rds-ca-rsa2048-g1"]["usable"] is True
    page = tmp_path / "report.html"
    assert main(["report", "--readiness", str(saved), "--output", str(page), "--tag", "env=dev"]) == 0
    html = page.read_text()
    expected = "rsa2048, rsa4096 (not ecc384: prisma)"
    assert f"<strong>Target CAs the clients seen can use:</strong> {expected}</p>" in html
    assert html.count(f"<td data-target-cas>{expected}</td>") == len(doc["instances"]) > 0
    assert "<th>target CAs usable</th>" in html
    capsys.readouterr()
