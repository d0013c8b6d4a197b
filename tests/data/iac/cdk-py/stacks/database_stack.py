"""Reports database.

Was created with ca_certificate=rds.CaCertificate.RDS_CA_2019 (see OPS-99).
"""

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from constructs import Construct


class DatabaseStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = ec2.Vpc.from_lookup(self, "Vpc", is_default=False)
        # ca_certificate=rds.CaCertificate.RDS_CA_RSA4096_G1 was tried in staging
        rds.DatabaseInstance(
            self,
            "ReportsDb",
            engine=rds.DatabaseInstanceEngine.mysql(version=rds.MysqlEngineVersion.VER_8_0),
            vpc=vpc,
            instance_identifier="reports-cdk",
            ca_certificate=rds.CaCertificate.RDS_CA_2019,
        )
