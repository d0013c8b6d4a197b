"""The README's five-minute tour, run as written against the sandbox: each `$ rdsca ...` line's exit
code (`(exit N)` after its output, else 0) and its key lines (counts, the plan, the run's outcome)
must be what the README shows, so the tour cannot drift from the product."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest

from rdsca.cli.app import main
from rdsca.rollout.journal import Journal
from support.sandbox import SandboxHandle

README = Path(__file__).resolve().parent.parent / "README.md"
RUN_ID = re.compile(r"\b\d{8}-\d{6}-[0-9a-f]{6}\b")
NOT_RUN = ("rdsca sandbox start", "rdsca sandbox stop", ". .venv/bin/activate")  # the fixture's job
KEY = re.compile(
    r"^(\d+ instances?: .*|Plan: .*|wave \S+ \(\d+\)|  [~=] .*|plan saved to .*|run \S+: .*|wrote \S+ \(.*)$"
)


@dataclass
class Command:
    line: str
    shown: list[str]
    code: int


def tour() -> list[Command]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    commands: list[Command] = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append(Command(line[2:], [], 0))
            elif (code := re.fullmatch(r"\(exit (\d+)\)", line)) and commands:
                commands[-1].code = int(code.group(1))
            elif commands:
                commands[-1].shown.append(line.rstrip())
    return [c for c in commands if not any(skip in c.line for skip in NOT_RUN)]


def normal(line: str) -> str:
    line = RUN_ID.sub("RUN", line)
    return re.sub(r"\(\d+\.\d+ MB, ", "(N MB, ", line)


def key_lines(lines: list[str]) -> list[str]:
    return [normal(line) for line in lines if KEY.match(line)]


def through(pipe: str, out: str) -> str:
    """`| tail -N` and `| jq ...` as the shell would."""
    words = shlex.split(pipe)
    if words[0] == "tail":
        return "".join(line + "\n" for line in out.splitlines()[-int(words[1].lstrip("-")) :])
    if shutil.which(words[0]) is None:
        pytest.skip(f"{words[0]} is not installed (the tour pipes into it)")
    return subprocess.run(words, input=out, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def bundles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory after `make demo`: rdsca-demo/ holds AWS's two bundles."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rdsca-demo").mkdir()
    data = resources.files("rdsca.catalog") / "data"
    for shipped, public in (("rds-combined-ca-bundle-2019.pem", "rds-combined-ca-bundle.pem"),
                            ("global-bundle-2025.pem", "global-bundle.pem")):  # fmt: skip
        (tmp_path / "rdsca-demo" / public).write_bytes((data / shipped).read_bytes())
    monkeypatch.setenv("RDSCA_JOURNAL", str(tmp_path / "journal.sqlite"))
    monkeypatch.setenv("COLUMNS", "120")
    return tmp_path


def test_the_readme_tour_runs_as_written(
    demo: SandboxHandle, bundles: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = tour()
    assert len(commands) >= 6, "the README tour has lost its commands"
    for command in commands:
        journal = bundles / "journal.sqlite"
        runs = Journal(journal).runs() if journal.exists() else []
        line = RUN_ID.sub(runs[-1].id, command.line) if runs else command.line
        rdsca, _, pipe = line.partition(" | ")
        args = shlex.split(rdsca)
        assert args[0] == "rdsca", line
        code = main(args[1:])
        out, err = capsys.readouterr()
        if pipe:
            out = through(pipe, out)
        assert code == command.code, f"$ {line}\n{out}{err}"
        real = (out + err).splitlines()
        assert key_lines(real) == key_lines(command.shown), f"$ {line}\n{out}{err}"
        if pipe.startswith("jq"):
            assert [normal(x) for x in real] == [normal(x) for x in command.shown], f"$ {line}\n{out}"
        shown_rows = {w.split()[0] for w in command.shown if re.match(r"^ [a-z][\w-]+ +\d{12} ", w)}
        real_rows = {w.split()[0] for w in real if re.match(r"^ [a-z][\w-]+ +\d{12} ", w)}
        assert shown_rows == real_rows, f"$ {line}: instances shown {shown_rows}, real {real_rows}"
