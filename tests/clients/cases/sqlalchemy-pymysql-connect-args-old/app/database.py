from sqlalchemy import create_engine

engine = create_engine(
    "mysql+pymysql://app:{{PASSWORD}}@127.0.0.1:{{MARIADB_PORT}}/",
    pool_recycle=3600,
    connect_args={"ssl": {"ca": "certs/rds-combined-ca-bundle.pem"}},
)
