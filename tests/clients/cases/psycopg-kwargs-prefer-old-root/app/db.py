import os

import psycopg


def connect():
    return psycopg.connect(
        host="127.0.0.1",
        port=int(os.environ.get("DB_PORT", "{{PG_PORT}}")),
        dbname="postgres",
        user="app",
        password="{{PASSWORD}}",
        sslmode="prefer",
        sslrootcert="certs/rds-ca-2019-root.pem",
        connect_timeout=30,
    )
