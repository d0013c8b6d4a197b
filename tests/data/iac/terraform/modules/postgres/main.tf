resource "aws_db_instance" "this" {
  identifier          = var.identifier
  engine              = "postgres"
  engine_version      = "15.8"
  instance_class      = var.instance_class
  allocated_storage   = 100
  ca_cert_identifier  = var.ca_cert_identifier
  skip_final_snapshot = false
}
