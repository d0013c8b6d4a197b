"""The command line: the only layer that prints, prompts or exits."""

from __future__ import annotations

from rdsca.cli.app import main

__all__ = ["main"]
