ca = "rds-ca-2019"
