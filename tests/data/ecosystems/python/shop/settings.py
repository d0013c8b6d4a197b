import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = False

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ["DB_HOST"],
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": os.environ["DB_PASSWORD"],
        "OPTIONS": {
            "sslmode": "verify-full",
            "sslrootcert": os.environ["SHOP_DB_CA"],
        },
    },
    "legacy": {
        "ENGINE": "django.db.backends.mysql",
        "HOST": os.environ.get("LEGACY_HOST", "legacy.abc.eu-west-1.rds.amazonaws.com"),
        "NAME": "legacy",
        "OPTIONS": {
            "ssl_mode": "VERIFY_IDENTITY",
            "ssl": {"ca": "/srv/shop/certs/rds-bundle.pem"},
        },
    },
}
