"""`rdsca plan --iac PATH` marks the steps whose instance a Terraform pin would set back."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdsca.cli.app import main
from support.sandbox import SandboxHandle

TF = """
resource "aws_db_instance" "billing" {
  identifier          = "billing-prod-mysql"
  engine              = "mysql"
  instance_class      = "db.m5.large"
  ca_cert_identifier  = "rds-ca-2019"
}
"""


def test_plan_warns_about_a_step_whose_instance_terraform_pins(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox_env.control.seed_demo()
    tree = tmp_path / "infra"
    tree.mkdir()
    (tree / "main.tf").write_text(TF, encoding="utf-8")
    plan = tmp_path / "plan.json"
    code = main(["plan", "--to", "rds-ca-rsa2048-g1", "--region", "us-east-1", "--id", "billing-*",
                 "--iac", str(tree), "-o", str(plan)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "warning:" in err and "billing-prod-mysql" in err and "main.tf:6" in err and "will fail" in err, (
        err
    )


def test_plan_with_a_missing_iac_path_is_refused_before_aws(
    sandbox_env: SandboxHandle, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox_env.control.reset_calls()
    code = main(
        ["plan", "--to", "rds-ca-rsa2048-g1", "--iac", str(tmp_path / "nope"), "-o", str(tmp_path / "p")]
    )
    _, err = capsys.readouterr()
    assert code == 2 and "nope" in err
    assert sandbox_env.control.call_count() == 0
