import os

from sqlalchemy import create_engine

engine = create_engine(os.environ["SQLALCHEMY_DATABASE_URI"], pool_pre_ping=True)
