# We moved off rds-ca-2019: ca_cert_identifier = "rds-ca-2019" is gone for good.
variable "ca_note" {
  description = "ca_cert_identifier used to be rds-ca-2019"
  type        = string
  default     = "see the runbook"
}

resource "aws_db_instance" "main" {
  identifier     = "clean-db"
  engine         = "postgres"
  instance_class = "db.t4g.small"
  /* ca_cert_identifier = "rds-ca-2019" */
}

module "db" {
  source  = "terraform-aws-modules/rds/aws"
  version = "6.5.0"

  identifier = "clean-module-db"
}
