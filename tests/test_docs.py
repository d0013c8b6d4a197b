"""Every command and subcommand of the `rdsca` group is documented in README.md or docs/*.md."""

from __future__ import annotations

import re
from pathlib import Path

import click

from rdsca.cli.app import cli

ROOT = Path(__file__).resolve().parent.parent


def command_paths(group: click.Command = cli, prefix: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    if isinstance(group, click.Group):
        ctx = click.Context(group)
        for name in sorted(group.list_commands(ctx)):  # the group loads its commands lazily
            cmd = group.get_command(ctx, name)
            assert cmd is not None, name
            out.append(" ".join((*prefix, name)))
            out += command_paths(cmd, (*prefix, name))
    return out


def documentation() -> str:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(p.read_text(encoding="utf-8") for p in pages if p.is_file())


def test_every_command_is_documented() -> None:
    text = re.sub(r"\s+", " ", documentation())
    missing = [p for p in command_paths() if not re.search(rf"\brdsca {re.escape(p)}(?![\w-])", text)]
    assert not missing, "commands not shown in README.md or docs/*.md: " + ", ".join(
        f"rdsca {p}" for p in missing
    )


def test_docs_pages_exist() -> None:
    for page in ("reports.md", "exit-codes.md", "json-schemas.md", "iam.md", "comparison.md"):
        assert (ROOT / "docs" / page).is_file(), page


def test_every_json_envelope_is_described_in_json_schemas_md() -> None:
    from rdsca import schemas

    text = (Path(__file__).parent.parent / "docs" / "json-schemas.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(rdsca\.[a-z-]+/\d+)`", text))
    assert set(schemas.ALL) <= named, f"not in docs/json-schemas.md: {sorted(set(schemas.ALL) - named)}"
    assert named <= set(schemas.ALL), f"described but never written: {sorted(named - set(schemas.ALL))}"
