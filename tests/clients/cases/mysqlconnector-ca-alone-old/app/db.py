import os

import mysql.connector

DB_CONFIG = {
    "host": "127.0.0.1",
    "port": int(os.environ.get("DB_PORT", "{{MARIADB_PORT}}")),
    "user": "app",
    "password": "{{PASSWORD}}",
    "ssl_ca": "certs/rds-ca-2019-root.pem",
}


def connect():
    return mysql.connector.connect(**DB_CONFIG, connection_timeout=30)
