"""Infrastructure as code that would undo a rotation: scan a tree, patch it, mark a plan.

result = scan(Path("infra"), "rds-ca-rsa2048-g1", now)
render(result, "json")            # rdsca.iac/1
Path("iac.diff").write_text(patch(result))
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from rdsca.catalog import Catalog, load_catalog
from rdsca.errors import ConfigError
from rdsca.files import JSON_LIMIT, read_text_input
from rdsca.iac import state as tfstate
from rdsca.iac.model import RISKY, Finding, Pin, ScanError, Tool, Verdict
from rdsca.iac.patch import unified_diff
from rdsca.iac.scan import scan_tree
from rdsca.iac.verdict import judge, retired_on
from rdsca.rollout.plan import Plan
from rdsca.words import count

__all__ = ["Finding", "IacScan", "Pin", "ScanError", "Verdict", "mark_plan", "patch", "scan"]


@dataclass(frozen=True)
class IacScan:
    root: Path
    target_ca: str
    scanned_at: datetime
    findings: tuple[Finding, ...]
    errors: tuple[ScanError, ...] = ()  # files that hold no readable code: failures are data
    state: str | None = None  # the state file that named instances

    @property
    def at_risk(self) -> tuple[Finding, ...]:
        """Findings whose next apply reverts the rotation or fails."""
        return tuple(f for f in self.findings if f.verdict in RISKY)


def check_target(target_ca: str, catalog: Catalog, now: datetime) -> str:
    known = catalog.ca_ids()
    ca = target_ca.lower()
    if ca not in known:
        raise ConfigError(f"--to {target_ca!r}: unknown CA (known: {', '.join(known)})")
    if ended := retired_on(catalog, ca, now):
        raise ConfigError(f"--to {target_ca}: that CA's roots ended on {ended}; rotate to a current one")
    return ca


def _with_state(pin: Pin, state: tuple[tuple[str, str], ...], name: str) -> Pin:
    if pin.tool is not Tool.TERRAFORM:
        return pin
    found = tfstate.instances_of(state, pin.resource)
    return replace(pin, instances=found, instances_from=name) if found else pin


def scan(
    path: Path, target_ca: str, now: datetime, state: Path | None = None, catalog: Catalog | None = None
) -> IacScan:
    """Find every CA pin under `path` and judge what the next apply does after rotating to
    `target_ca`. `state` (terraform.tfstate or `terraform show -json`) names the instances."""
    catalog = catalog or load_catalog()
    ca = check_target(target_ca, catalog, now)
    if not path.exists():
        raise ConfigError(f"{path}: no such file or directory")
    rows: tuple[tuple[str, str], ...] = ()
    if state is not None:
        try:
            rows = tfstate.parse(read_text_input(state, what="--state", limit=JSON_LIMIT))
        except tfstate.StateError as exc:
            raise ConfigError(f"--state {state}: {exc}") from None
    pins, errors = scan_tree(path)
    if state is not None:
        pins = [_with_state(p, rows, state.name) for p in pins]
    findings = tuple(judge(p, ca, catalog, now) for p in pins)
    ordered = tuple(sorted(findings, key=lambda f: (f.pin.file, f.pin.line, f.pin.resource)))
    return IacScan(path, ca, now, ordered, tuple(errors), str(state) if state else None)


def patch(result: IacScan) -> str:
    """A unified diff (apply with `patch -p1` in the scanned directory) that moves every pin that
    would revert or fail to the target CA; '' when there is nothing to move."""
    edits = [f.pin.value_edit for f in result.at_risk if f.pin.value_edit is not None]
    return unified_diff(result.root, edits, result.target_ca)


def mark_plan(plan: Plan, result: IacScan) -> tuple[str, ...]:
    """Warnings naming each plan step whose instance a pin would set back (or whose next apply
    fails), then the pins that no instance could be matched to."""
    out: list[str] = []
    matched: set[int] = set()
    for step in plan.steps:
        ids = {i.lower() for i in (step.id, *step.instance_ids)}
        for n, f in enumerate(result.at_risk):
            if ids & {i.lower() for i in f.pin.instances}:
                matched.add(n)
                out.append(
                    f"{step.key}: {f.pin.tool} pin {f.pin.value} at {f.pin.where} ({f.pin.resource}, "
                    f"{f.pin.origin}): the next apply will {f.verdict} this rotation"
                )
    unmatched = [f for n, f in enumerate(result.at_risk) if n not in matched]
    if unmatched:
        where = ", ".join(f"{f.pin.where} {f.pin.resource}" for f in unmatched)
        out.append(
            f"{count(unmatched, 'IaC pin')} that would revert or fail, managing no instance of this plan "
            f"that the tree or state names: {where}"
        )
    return tuple(out)
