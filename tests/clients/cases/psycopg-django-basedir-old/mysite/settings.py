"""Django settings for mysite (database part)."""

import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
            "sslrootcert": os.path.join(BASE_DIR, "certs", "rds-combined-ca-bundle.pem"),
        },
    }
}
