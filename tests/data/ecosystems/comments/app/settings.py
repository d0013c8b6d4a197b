DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "payments",
        # "OPTIONS": {"sslmode": "verify-full", "sslrootcert": "/certs/global-bundle.pem"},
    },
}
