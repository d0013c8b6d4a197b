import os

import pymysql


def connect():
    return pymysql.connect(
        host="127.0.0.1",
        port=int(os.environ.get("DB_PORT", "{{MARIADB_PORT}}")),
        user="app",
        password="{{PASSWORD}}",
        ssl_ca="certs/global-bundle.pem",
        ssl_verify_cert=True,
        ssl_verify_identity=True,
        connect_timeout=30,
    )
