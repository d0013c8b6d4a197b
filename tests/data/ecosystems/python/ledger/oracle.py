import os

import oracledb


def connect() -> oracledb.Connection:
    # RDS for Oracle with the SSL option on port 2484
    return oracledb.connect(
        user="ledger",
        password=os.environ["LEDGER_PASSWORD"],
        dsn="(DESCRIPTION=(ADDRESS=(PROTOCOL=TCPS)(HOST=ledger.abc.eu-west-1.rds.amazonaws.com)(PORT=2484))"
        "(CONNECT_DATA=(SID=LEDGER)))",
        wallet_location="/srv/shop/wallet",
        ssl_server_dn_match=True,
    )
