"""ca_certificate=rds.CaCertificate.RDS_CA_2019 was the old pin."""

# aws.rds.Instance("x", ca_cert_identifier="rds-ca-2019")
NOTE = 'ca_cert_identifier="rds-ca-2019"'
