resource "aws_rds_cluster_instance" "members" {
  for_each           = toset(["a", "b"])
  identifier         = "search-staging-${each.key}"
  cluster_identifier = "search-staging"
  instance_class     = "db.r6g.large"
  engine             = "aurora-postgresql"
  ca_cert_identifier = var.ca
}
