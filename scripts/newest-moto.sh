#!/usr/bin/env bash
# The sandbox patches moto's private RDS classes, so pyproject.toml pins moto to the range it is
# tested with. This job installs the newest moto past that pin, in a venv of its own, and runs the
# sandbox's tests and `rdsca demo` on it: a moto release that breaks the sandbox fails CI here
# (and the pin keeps users on a working moto meanwhile).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-newest-moto
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet -e '.[dev]'
"$VENV/bin/pip" install --quiet --upgrade 'moto[server]' 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c 'import importlib.metadata as m; print("newest-moto: moto", m.version("moto"))'
"$VENV/bin/pytest" -q tests/test_sandbox.py tests/test_sandbox_aws_facts.py tests/test_sandbox_fleet.py \
    tests/test_sandbox_cli.py tests/test_demo.py
