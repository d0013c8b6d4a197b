import os

from sqlalchemy import create_engine

DATABASE_URL = os.environ.get(
    "DATABASE_URL", "postgresql+psycopg://app:{{PASSWORD}}@127.0.0.1:{{PG_PORT}}/postgres"
)

engine = create_engine(
    DATABASE_URL,
    pool_pre_ping=True,
    connect_args={
        "sslmode": "verify-full",
        "sslrootcert": "certs/rds-combined-ca-bundle.pem",
    },
)
