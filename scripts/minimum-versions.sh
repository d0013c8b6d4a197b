#!/usr/bin/env bash
# The lower bounds in pyproject.toml must be true: install exactly the minimum version of every
# runtime dependency (and of moto, which the sandbox patches), in a venv of their own, and run the
# suite on them. The list below is the dependencies' lower bounds, kept beside pyproject.toml.
set -euo pipefail  # pipefail: a minimum that cannot be installed fails the job
cd "$(dirname "$0")/.."
VENV=.venv-minimum
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet -e '.[dev]'
"$VENV/bin/pip" install --quiet \
    'boto3==1.34.57' 'botocore==1.34.57' 'click==8.1.0' 'rich==13.7.0' 'cryptography==42.0.0' \
    'platformdirs==4.0.0' 'psycopg[binary]==3.1.4' 'PyMySQL==1.1.0' 'pyjks==20.0.0' \
    'python-hcl2==4.3.0' 'PyYAML==6.0.1' 'moto[server]==5.2.5' 2>&1 | { grep -v "^WARNING: Location" || true; }
# pipefail above: when a minimum cannot be installed the job fails here instead of testing the newest
"$VENV/bin/pip" list 2>/dev/null | grep -iE "^(boto3|botocore|click|rich|cryptography|platformdirs|psycopg|pymysql|pyjks|python-hcl2|pyyaml|moto) " || true
"$VENV/bin/pytest" -q "$@"
