import pymysql


def connect():
    return pymysql.connect(read_default_file="config/my.cnf", read_default_group="client", connect_timeout=30)
