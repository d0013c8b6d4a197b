variable "identifier" {
  type = string
}

variable "instance_class" {
  type = string
}

variable "ca_cert_identifier" {
  description = "Leave null to use the region's default CA"
  type        = string
  default     = null
}
