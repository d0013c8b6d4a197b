resource "aws_docdb_cluster_instance" "docs" {
  count              = 1
  identifier         = "docs-prod-1"
  cluster_identifier = "docs-prod"
  instance_class     = "db.r6g.large"
  ca_cert_identifier = "rds-ca-rsa2048-g1"
}
