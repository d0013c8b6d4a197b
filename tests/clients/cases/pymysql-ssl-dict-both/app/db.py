import os

import pymysql


def connect():
    return pymysql.connect(
        host="127.0.0.1",
        port=int(os.environ.get("DB_PORT", "{{MARIADB_PORT}}")),
        user="app",
        password="{{PASSWORD}}",
        ssl={"ca": "certs/global-bundle.pem"},
        connect_timeout=30,
    )
