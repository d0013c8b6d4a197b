"""Which instance each Terraform address manages, from a state file (`terraform.tfstate`, format 4)
or `terraform show -json` output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

RESOURCE_TYPES = ("aws_db_instance", "aws_rds_cluster_instance", "aws_docdb_cluster_instance")


class StateError(ValueError):
    pass


def _strip_indexes(address: str) -> str:
    """module.db[0].aws_db_instance.this["a"] -> module.db.aws_db_instance.this"""
    out, depth = [], 0
    for ch in address:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _show_json(module: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for r in module.get("resources", []):
        values = r.get("values") or {}
        if (
            r.get("mode", "managed") == "managed"
            and r.get("type") in RESOURCE_TYPES
            and values.get("identifier")
        ):
            yield _strip_indexes(str(r.get("address", ""))), str(r["type"]), str(values["identifier"])
    for child in module.get("child_modules", []):
        yield from _show_json(child)


def _tfstate(doc: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    for r in doc.get("resources", []):
        if r.get("mode") != "managed" or r.get("type") not in RESOURCE_TYPES:
            continue
        prefix = f"{_strip_indexes(r['module'])}." if r.get("module") else ""
        for inst in r.get("instances", []):
            ident = (inst.get("attributes") or {}).get("identifier")
            if ident:
                yield f"{prefix}{r['type']}.{r['name']}", str(r["type"]), str(ident)


def parse(text: str) -> tuple[tuple[str, str], ...]:
    """(resource address without indexes, instance identifier) for every RDS instance in the state."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise StateError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise StateError("not a Terraform state")
    if "values" in doc or "format_version" in doc:  # terraform show -json
        root = ((doc.get("values") or {}).get("root_module")) or {}
        rows = list(_show_json(root))
    elif "resources" in doc and "version" in doc:
        rows = list(_tfstate(doc))
    else:
        raise StateError("neither a terraform.tfstate nor `terraform show -json` output")
    return tuple((address, ident) for address, _type, ident in rows)


def instances_of(state: tuple[tuple[str, str], ...], address: str) -> tuple[str, ...]:
    """Identifiers managed by a resource address, or by every resource inside a module address."""
    address = _strip_indexes(address)
    found = [i for a, i in state if a == address or a.startswith(address + ".")]
    return tuple(dict.fromkeys(found))
