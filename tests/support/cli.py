"""Running rdsca's real entry point from a test, in-process."""

from __future__ import annotations

import pytest

from rdsca.cli.app import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`rdsca ARGS`: the exit code, stdout and stderr; never a traceback."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err
