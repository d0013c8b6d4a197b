import os

import pymysql


def connect():
    return pymysql.connect(
        host="127.0.0.1",
        port=int(os.environ.get("DB_PORT", "{{MARIADB_PORT}}")),
        user="app",
        password="{{PASSWORD}}",
        ssl_ca="certs/rds-ca-2019-root.pem",
        connect_timeout=30,
    )
