"""The data every IaC scanner returns: a pin, where its value comes from, and how to move it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Tool(StrEnum):
    TERRAFORM = "terraform"
    CLOUDFORMATION = "cloudformation"
    CDK = "cdk"
    PULUMI = "pulumi"
    CROSSPLANE = "crossplane"
    ACK = "ack"


class Origin(StrEnum):
    """Where the pinned value is written."""

    LITERAL = "literal"  # on the resource itself
    VARIABLE_DEFAULT = "variable-default"  # Terraform `variable { default }`
    TFVARS = "tfvars"  # terraform.tfvars, *.auto.tfvars or an environment's *.tfvars
    LOCAL = "local"  # Terraform `locals`
    MODULE_DEFAULT = "module-default"  # a public module whose default pinned a CA
    PARAMETER_DEFAULT = "parameter-default"  # CloudFormation Parameters.<P>.Default
    MAPPING = "mapping"  # CloudFormation Mappings (Fn::FindInMap)
    CONSTANT = "constant"  # CDK `CaCertificate.RDS_CA_2019`
    COMPUTED = "computed"  # read from another resource or from AWS: nothing pinned here
    UNRESOLVED = "unresolved"  # an expression the tree alone does not decide


class Verdict(StrEnum):
    REVERT = "revert"  # the next apply sets the old CA back
    FAIL = "fail"  # the old CA is retired: the next apply fails with CertificateNotFound
    NONE = "none"  # already the target, or computed/unset
    UNKNOWN = "unknown"  # the value is decided outside the tree (a variable without default, ...)


RISKY = frozenset({Verdict.REVERT, Verdict.FAIL})


@dataclass(frozen=True)
class Edit:
    """One change to one line: replace the first `old` at or after `column` with `new`; or, when
    `old` is None, insert `new` as a line after `line`. In `new`, `{ca}` stands for the target CA
    and `{CONST}` for its CDK constant name (RDS_CA_RSA2048_G1)."""

    file: str  # relative to the scanned root, POSIX separators
    line: int  # 1-based
    old: str | None
    new: str
    column: int = 0


@dataclass(frozen=True)
class Pin:
    """A CA pinned by infrastructure as code, before it is judged against a target."""

    file: str  # relative to the scanned root, POSIX separators
    line: int
    tool: Tool
    resource: str  # Terraform address, CloudFormation logical id, construct id, manifest name
    resource_type: str  # aws_db_instance, AWS::RDS::DBInstance, rds.DatabaseInstance, ...
    value: str | None  # the CA id, None when unresolved
    origin: Origin
    origin_detail: str = ""  # e.g. "variables.tf:4 var.db_ca", "terraform-aws-modules/rds/aws 2.20.0"
    instances: tuple[str, ...] = ()  # instance identifiers it manages, when known
    instances_from: str = ""  # "tree" or the state file's name
    repeat: str = ""  # "count = 2", "for_each = var.dbs": one pin, several instances
    note: str = ""
    # How `rdsca iac scan --patch` moves the pin; None when it cannot (unresolved, templates).
    value_edit: Edit | None = None
    module: str = ""  # module source + version of a module default

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Finding:
    pin: Pin
    verdict: Verdict
    reason: str
    fix: str  # what the patch does for this pin, or why it does not


@dataclass(frozen=True)
class ScanError:
    file: str
    message: str
