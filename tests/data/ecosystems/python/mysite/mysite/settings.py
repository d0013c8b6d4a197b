"""Django settings for mysite."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LEGACY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "mysite",
        "OPTIONS": {
            "sslmode": "verify-full",
            "sslrootcert": str(BASE_DIR / "certs" / "rds-bundle.pem"),
        },
    },
    "reports": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "reports",
        "OPTIONS": {
            "sslmode": "verify-ca",
            "sslrootcert": os.path.join(LEGACY_ROOT, "certs", "rds-bundle.pem"),
        },
    },
}
