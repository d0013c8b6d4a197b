"""`-o` names a file, `--format` the format: `-o json` (the AWS CLI habit) is refused with a hint
instead of writing the table to a file named `json`, and without `-f` the extension of the `-o` file
chooses the format."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from rdsca.cli.app import cli, main
from rdsca.cli.output import writable_file
from support.sandbox import SandboxHandle


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fleet(sandbox_env: SandboxHandle) -> SandboxHandle:
    sandbox_env.control.seed_demo(endpoints=False)
    return sandbox_env


@pytest.mark.parametrize(("args", "hint"), [
    (["audit", "--output", "json"], "did you mean --format json?"),
    (["audit", "-o", "csv"], "did you mean --format csv?"),
    (["cas", "-o", "json"], "did you mean --format json?"),
    (["probe", "--instances", "-o", "json"], "did you mean --format json?"),
    (["plan", "--to", "rds-ca-rsa2048-g1", "-o", "json"], "did you mean --format json?"),
    (["report", "-o", "markdown"], "did you mean --format markdown?"),
    (["report", "-o", "prom"], "did you mean --format prometheus?"),
    (["iam-policy", "-o", "json"], "names the file to write"),
])  # fmt: skip
def test_a_bare_format_name_is_not_a_file_name(
    fleet: SandboxHandle, here: Path, capsys: pytest.CaptureFixture[str], args: list[str], hint: str
) -> None:
    calls = fleet.control.call_count()
    code = main(args)
    _, err = capsys.readouterr()
    assert code == 2, err
    assert hint in err, err
    assert list(here.iterdir()) == []  # no file named json, csv, ...
    assert fleet.control.call_count() == calls  # refused before any AWS call


def test_a_path_with_a_directory_may_have_any_name(
    fleet: SandboxHandle, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["audit", "-o", str(here / "json")])
    capsys.readouterr()
    assert code == 0 and (here / "json").read_text().startswith(" ")  # the table, as asked


@pytest.mark.parametrize(("name", "check"), [
    ("audit.json", lambda text: json.loads(text)["schema"] == "rdsca.audit/1"),
    ("audit.csv", lambda text: text.splitlines()[0].count(",") >= 3),
    ("audit.md", lambda text: text.lstrip().startswith("#") or "|---" in text or "| --- |" in text),
    ("audit.html", lambda text: text.lstrip().lower().startswith("<!doctype html")),
])  # fmt: skip
def test_without_format_the_extension_chooses_it(
    fleet: SandboxHandle, here: Path, capsys: pytest.CaptureFixture[str], name: str, check: object
) -> None:
    code = main(["audit", "-o", name])
    _, err = capsys.readouterr()
    assert code == 0, err
    text = (here / name).read_text()
    assert callable(check) and check(text), text[:400]


def test_an_explicit_format_wins_over_the_extension(
    fleet: SandboxHandle, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "-f", "json", "-o", "audit.txt"]) == 0
    assert json.loads((here / "audit.txt").read_text())["schema"] == "rdsca.audit/1"
    assert main(["audit", "-f", "table", "-o", "audit.json"]) == 0
    capsys.readouterr()
    with pytest.raises(json.JSONDecodeError):
        json.loads((here / "audit.json").read_text())


def test_report_takes_markdown_and_prometheus_from_the_extension(
    fleet: SandboxHandle, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "-o", "change.md"]) == 0
    assert main(["report", "-o", "rdsca.prom"]) == 0
    capsys.readouterr()
    assert "<html" not in (here / "change.md").read_text().lower()
    assert "# TYPE" in (here / "rdsca.prom").read_text()


def test_an_extension_the_command_cannot_write_is_refused(
    fleet: SandboxHandle, here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["trust", "catalogue", "-o", "cas.csv"])
    _, err = capsys.readouterr()
    assert code == 2 and "not csv" in err and "--format" in err, err
    assert not (here / "cas.csv").exists()


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # imports the lazily registered ones too
        command = group.get_command(ctx, name)
        assert command is not None
        out.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            out.extend(_commands(command, f"{prefix}{name} "))
    return out


def test_every_output_file_option_refuses_a_format_name() -> None:
    """Every `-o` of every command goes through `writable_file` (the check above)."""
    with_o = [(name, p) for name, c in _commands(cli) for p in c.params if "-o" in getattr(p, "opts", ())]
    assert len(with_o) >= 10
    unchecked = [name for name, p in with_o if p.callback is not writable_file]
    assert unchecked == []
