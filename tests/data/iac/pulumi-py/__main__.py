"""Audit database (Pulumi)."""

import pulumi_aws as aws

audit = aws.rds.Instance(
    "audit",
    identifier="audit-db",
    engine="mariadb",
    instance_class="db.t4g.small",
    ca_cert_identifier="rds-ca-rsa4096-g1",
)
