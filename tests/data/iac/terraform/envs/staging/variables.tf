variable "ca" {
  type = string
}
