"""The lazily loaded command table matches what the command modules register."""

from __future__ import annotations

import importlib

from rdsca.cli.app import COMMANDS, cli


def test_command_table_matches_the_modules() -> None:
    for module in set(COMMANDS.values()):
        importlib.import_module(module)
    assert set(cli.commands) == set(COMMANDS)
    for name, module in COMMANDS.items():
        assert cli.commands[name].callback is not None
        assert cli.commands[name].callback.__module__.startswith(module), name
