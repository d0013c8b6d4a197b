"""Human tables (rich), rendered to a string so the CLI decides where it goes."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rdsca.api.audit import CaInventory
from rdsca.model import Audit, RegionCAs
from rdsca.report.audit import pending_note, sort_key, summary
from rdsca.report.common import day

NON_TTY_WIDTH = 220  # pipes and files (unless COLUMNS says otherwise): wide lines beat folded ones

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def render(renderables: Sequence[object], color: bool, width: int | None = None) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=color,
        no_color=not color,
        width=width or (None if color or os.environ.get("COLUMNS") else NON_TTY_WIDTH),
        highlight=False,
        soft_wrap=False,
    )
    for r in renderables:
        console.print(r)
    return buf.getvalue()


def audit_table(audit: Audit, color: bool = False, width: int | None = None) -> str:
    """One row per instance; where, engine, expiry and verdict stack two facts a cell to stay narrow."""
    table = Table(title="RDS certificate audit", box=box.SIMPLE_HEAD, pad_edge=False, show_lines=True)
    for col in ("account / region", "instance", "engine", "CA", "expires (days)", "state", "reasons"):
        table.add_column(col, overflow="fold", ratio=3 if col == "reasons" else None)
    for v in sorted(audit.verdicts, key=sort_key):
        i = v.instance
        ends = [d for d in (v.ca_valid_till, i.server_cert_valid_till) if d]
        style = SEVERITY_STYLE[v.severity.value]
        days = "" if v.days_left is None else f"({v.days_left})"
        table.add_row(
            f"{i.account_id}\n{i.region}",
            Text(i.id),
            f"{i.engine}\n{i.engine_version}",
            i.ca or "-",
            f"{day(min(ends) if ends else None)}\n{days}",
            Text(f"{v.state.value}\n{v.severity.value}", style=style),
            Text("\n".join((*v.reasons, *filter(None, [pending_note(i)])))),
        )
    s = summary(audit)
    states = ", ".join(f"{n} {k}" for k, n in s["by_state"].items()) or "none"
    lines: list[object] = [table, f"{s['instances']} instances: {states}."]
    for t in audit.fleet.failed:
        lines.append(Text(f"FAILED {t.target.account_id} {t.target.region}: {t.error}", style="bold red"))
    return render(lines, color, width)


def cas_table(regions: Sequence[RegionCAs], color: bool = False, width: int | None = None) -> str:
    table = Table(title="RDS certificate authorities per region", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("account", "region", "CA", "valid from", "valid till", "default for new", "override"):
        table.add_column(col)
    for r in sorted(regions, key=lambda r: (r.account_id, r.region)):
        for a in sorted(r.authorities, key=lambda a: a.id):
            is_default = a.id == r.default_ca
            table.add_row(
                r.account_id,
                r.region,
                a.id,
                day(a.valid_from),
                day(a.valid_till),
                "yes" if is_default else "",
                "yes" if a.customer_override else "",
            )
    return render([table], color, width)


def cas_inventory_table(inventory: CaInventory, color: bool = False, width: int | None = None) -> str:
    """The CAs of each region, then one line per target that could not be read."""
    text = cas_table(inventory.regions, color, width)
    for t in inventory.failed:
        text += f"FAILED {t.target.account_id} {t.target.region}: {t.error}\n"
    return text
