import psycopg
import pymysql
from sqlalchemy import create_engine

orders = psycopg.connect("host=orders.example sslmode=verify-full sslrootcert=certs/rds-combined-ca-bundle.pem password=hunter2")

legacy = pymysql.connect(host="legacy.example", ssl_ca="certs/global-bundle.pem")


billing = pymysql.connect(
    host="billing.example",
    ssl_ca="certs/rds-combined-ca-bundle.pem",
    ssl_verify_cert=True,
)

reports = create_engine("postgresql+psycopg://app:s3cr3t@reports.example/db?sslmode=require")


audit = create_engine(
    "postgresql+psycopg://audit.example/db",
    connect_args={"sslmode": "verify-ca", "sslrootcert": "/etc/pki/rds/missing-bundle.pem"},
)


shop = pymysql.connect(host="shop.example", ssl={"ca": "certs/global-bundle.pem"})


native = psycopg.connect("host=native.example sslmode=verify-full sslrootcert=system")
