import os

import psycopg


def connect():
    return psycopg.connect(
        host=os.environ["DB_HOST"],
        dbname="orders",
        sslmode="verify-full",
        sslrootcert="system",
    )
