"""IAM permissions each AWS operation needs, declared beside the code that calls it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# capability -> set of IAM actions
_REGISTRY: dict[str, set[str]] = {}

CAPABILITIES = ("audit", "rotate", "readiness")

# The policy each command that calls AWS runs under: `rdsca iam-policy --for CAPABILITY`. Every
# read-only command (plan too: it reads clusters to order the writers) runs with the audit policy.
# tests/test_iam_policies.py runs each command against the sandbox and checks that every AWS call
# it makes is in its policy, so a call declared for the wrong capability fails there.
COMMANDS = {
    "audit": "audit",
    "cas": "audit",
    "report": "audit",
    "probe --instances": "readiness",
    "plan": "audit",
    "default show": "audit",
    "show": "audit",  # re-reads scheduled steps
    "apply": "rotate",
    "resume": "rotate",
    "rollback": "rotate",
    "default set": "rotate",
    "default clear": "rotate",
    "readiness": "readiness",
    "notices": "audit",  # reads the fleet, and AWS Health (health:Describe*, read-only)
}


def needs(*actions: str, used_by: tuple[str, ...] = ("audit",)) -> Callable[[F], F]:
    """Declare the IAM actions a function calls, for the capabilities that use it."""

    def decorate(func: F) -> F:
        for capability in used_by:
            _REGISTRY.setdefault(capability, set()).update(actions)
        func.iam_actions = actions  # type: ignore[attr-defined]
        return func

    return decorate


def actions_for(capability: str) -> tuple[str, ...]:
    # rotate and readiness read the fleet first: they need what audit needs.
    wanted = {capability, "audit"} if capability in ("rotate", "readiness") else {capability}
    out: set[str] = set()
    for c in wanted:
        out |= _REGISTRY.get(c, set())
    return tuple(sorted(out))


def policy_document(capability: str) -> str:
    """A least-privilege IAM policy (JSON) for one capability."""
    if capability not in CAPABILITIES:
        raise ValueError(capability)
    # Import the modules that declare permissions so the registry is complete.
    import importlib

    modules = ("session", "fleet", "actions", "health", "parameters")
    for module in (f"rdsca.aws.{name}" for name in modules):
        importlib.import_module(module)

    doc: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"Rdsca{capability.title()}",
                "Effect": "Allow",
                "Action": list(actions_for(capability)),
                "Resource": "*",
            },
        ],
    }
    return json.dumps(doc, indent=2)
