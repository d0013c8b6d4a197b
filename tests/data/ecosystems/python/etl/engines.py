"""Engines for the nightly ETL."""

from sqlalchemy import create_engine

warehouse = create_engine(
    "postgresql+psycopg2://etl@warehouse.abc.eu-west-1.rds.amazonaws.com/dw"
    "?sslmode=verify-ca&sslrootcert=/srv/shop/certs/rds-bundle.pem"
)

inventory = create_engine(
    "mysql+pymysql://etl@inventory.abc.eu-west-1.rds.amazonaws.com/inventory?ssl_ca=/srv/shop/certs/rds-bundle.pem"
)

pricing = create_engine(
    "mysql+mysqlconnector://etl@pricing.abc.eu-west-1.rds.amazonaws.com/pricing?ssl_ca=/srv/shop/certs/rds-bundle.pem"
)

events = create_engine(
    "postgresql+psycopg://etl@events.abc.eu-west-1.rds.amazonaws.com/events",
    connect_args={"sslmode": "require"},
)
