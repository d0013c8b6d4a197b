"""A local stand-in for AWS RDS: moto in server mode plus rdsca's certificate extension.

Test infrastructure that sits beside the CLI; nothing in the library imports it.
Start with `rdsca.sandbox.server.SandboxServer` (tests) or `rdsca sandbox start` (people).
"""
