# Django settings (fixture for rdsca trust scan)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "OPTIONS": {"sslmode": "verify-full", "sslrootcert": "/app/certs/global-bundle.pem"},
    }
}
