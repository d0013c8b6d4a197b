"""Fetch the RDS trust bundle when the worker starts."""

import urllib.request
from pathlib import Path

BUNDLE = Path("/var/run/worker/rds-bundle.pem")


def fetch_bundle() -> Path:
    urllib.request.urlretrieve(
        "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem", BUNDLE
    )
    return BUNDLE
