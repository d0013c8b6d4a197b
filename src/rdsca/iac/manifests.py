"""Crossplane and ACK manifests: their controllers set a changed CA back without any apply.

Crossplane (provider-aws `database.aws.crossplane.io` RDSInstance, Upbound `rds.aws.upbound.io`
Instance/ClusterInstance, `docdb.aws.upbound.io`): `spec.forProvider.caCertificateIdentifier` or
`caCertIdentifier`. ACK (`rds.services.k8s.aws` DBInstance): `spec.caCertificateIdentifier`.
"""

from __future__ import annotations

import yaml

from rdsca.iac.cloudformation import _get, _scalar
from rdsca.iac.model import Edit, Origin, Pin, Tool

KEYS = ("caCertificateIdentifier", "caCertIdentifier")
MARKERS = KEYS


def _tool(api_version: str) -> Tool | None:
    group = api_version.split("/")[0]
    if group.endswith(".services.k8s.aws") and group.split(".")[0] in ("rds", "docdb"):
        return Tool.ACK
    if group.endswith((".crossplane.io", ".upbound.io")) and group.split(".")[0] in (
        "database",
        "rds",
        "docdb",
    ):
        return Tool.CROSSPLANE
    return None


def scan(rel: str, text: str) -> list[Pin]:
    out: list[Pin] = []
    for doc in yaml.compose_all(text, Loader=yaml.SafeLoader):
        tool = _tool(_scalar(_get(doc, "apiVersion")) or "")
        if tool is None:
            continue
        kind = _scalar(_get(doc, "kind")) or "?"
        meta = _get(doc, "metadata")
        name = _scalar(_get(meta, "name")) or "?"
        spec = _get(doc, "spec")
        holder = spec if tool is Tool.ACK else _get(spec, "forProvider")
        external = _scalar(_get(_get(meta, "annotations"), "crossplane.io/external-name"))
        ident = _scalar(_get(spec, "dbInstanceIdentifier")) if tool is Tool.ACK else (external or name)
        for key in KEYS:
            node = _get(holder, key)
            if node is None:
                continue
            value = _scalar(node)
            line = node.start_mark.line + 1
            edit = Edit(rel, line, value, "{ca}", node.start_mark.column) if value else None
            origin = Origin.LITERAL if value else Origin.UNRESOLVED
            out.append(Pin(rel, line, tool, f"{kind}/{name}", kind, value, origin,
                           instances=(ident,) if ident else (), instances_from="tree" if ident else "",
                           value_edit=edit))  # fmt: skip
    return out
