variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "db_ca" {
  description = "CA of the orders database (was rds-ca-2019 before the 2024 rotation)"
  type        = string
  default     = "rds-ca-2019"
}
