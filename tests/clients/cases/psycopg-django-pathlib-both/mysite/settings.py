"""Django settings for mysite (database part)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = False
ALLOWED_HOSTS = ["*"]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": "app",
        "PASSWORD": os.environ.get("DB_PASSWORD", "{{PASSWORD}}"),
        "HOST": "127.0.0.1",
        "PORT": "{{PG_PORT}}",
        "OPTIONS": {
            "sslmode": "verify-full",
            "sslrootcert": str(BASE_DIR / "certs" / "global-bundle.pem"),
        },
    }
}
