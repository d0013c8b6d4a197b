terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region
}

module "orders_db" {
  source = "../../modules/postgres"

  identifier         = "orders-prod"
  instance_class     = "db.r6g.large"
  ca_cert_identifier = var.db_ca
}

# The MySQL estate still runs on the module release it was created with.
module "legacy" {
  source  = "terraform-aws-modules/rds/aws"
  version = "2.20.0"

  identifier     = "legacy-mysql"
  engine         = "mysql"
  engine_version = "5.7"
  instance_class = "db.t3.medium"
}

module "reports" {
  source  = "terraform-aws-modules/rds-aurora/aws"
  version = "~> 8.3"

  name   = "reports"
  engine = "aurora-postgresql"
}

resource "aws_db_instance" "replica" {
  count               = 2
  identifier          = "orders-replica-${count.index}"
  replicate_source_db = module.orders_db.db_instance_arn
  instance_class      = "db.r6g.large"
  # ca_cert_identifier = "rds-ca-2019"   (the old value, see OPS-1234)
  ca_cert_identifier  = local.replica_ca
}

locals {
  replica_ca = "rds-ca-rsa4096-g1"
}
