"""Human tables (rich), rendered to a string so the CLI decides where it goes."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from rdsca.api.audit import CaInventory
from rdsca.model import Audit, RegionCAs
from rdsca.report.audit import pending_note, sort_key, summary
from rdsca.report.common import day
from rdsca.report.words import count

NON_TTY_WIDTH = 220  # pipes and files (unless COLUMNS says otherwise): wide lines beat folded ones

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def console_for(color: bool, width: int | None = None) -> Console:
    """The console every table is drawn on: the terminal's width (COLUMNS), else NON_TTY_WIDTH."""
    return Console(
        file=io.StringIO(),
        force_terminal=color,
        no_color=not color,
        width=width or (None if color or os.environ.get("COLUMNS") else NON_TTY_WIDTH),
        highlight=False,
        soft_wrap=False,
    )


def render(renderables: Sequence[object], color: bool, width: int | None = None) -> str:
    console = console_for(color, width)
    for r in renderables:
        if callable(r):  # drawn for this console's width (see `fitted`)
            r = r(console)
        console.print(r)
    file = console.file
    assert isinstance(file, io.StringIO)
    text = file.getvalue()
    return text if color else "".join(line.rstrip() + "\n" for line in text.splitlines())


@dataclass(frozen=True)
class Column:
    """A column of a `fitted` table. Only a `wraps` column (reasons, messages) is ever wrapped:
    identifiers, CA names and dates stay whole on one line."""

    name: str
    wraps: bool = False
    min_width: int = 24  # of a column that wraps


Cell = str | Text


def fitted(
    title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], **table: Any
) -> Callable[[Console], object]:
    """A table that fits the console: columns side by side when every identifier fits on its line
    with room for the wrapping columns, else one block per row (its first cell, then one line per
    other column), where the values have the whole width. `render` calls it with the console."""

    def draw(console: Console) -> object:
        grid = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, **table)
        for col in columns:
            if col.wraps:
                grid.add_column(col.name, overflow="fold", min_width=col.min_width)
            else:
                grid.add_column(col.name, no_wrap=True, overflow="ignore")
        for row in rows:
            grid.add_row(*row)
        if _least_width(columns, rows) <= console.width:
            return grid
        return _blocks(title, columns, rows)

    return draw


def _least_width(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> int:
    """The width the columns need side by side: each whole line of a column that does not wrap, the
    minimum of one that does, and 3 a column for padding and rule (rich's measure does not count
    a column that may not wrap at its full width)."""
    widths = []
    for n, col in enumerate(columns):
        if col.wraps:
            widths.append(col.min_width)
            continue
        cells = [col.name, *(row[n] for row in rows)]
        plain = [c.plain if isinstance(c, Text) else c for c in cells]
        widths.append(max(cell_len(line) for c in plain for line in c.split("\n")))
    return sum(widths) + 3 * len(columns)


def _blocks(title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> object:
    """One block per row, for a console too narrow for the columns side by side."""
    from rich.console import Group
    from rich.padding import Padding

    parts: list[RenderableType] = [Text(title, style="bold")] if title else []
    for row in rows:
        head = _flat(row[0], "  ")
        head.stylize("bold")
        body = Table.grid(padding=(0, 2))
        body.add_column(no_wrap=True, style="dim")
        body.add_column(overflow="fold")
        for col, cell in zip(columns[1:], row[1:], strict=True):
            body.add_row(_flat(col.name, " "), _flat(cell, "\n" if col.wraps else "  "))
        parts.extend([Text(""), head, Padding(body, (0, 0, 0, 2), expand=False)])
    return Group(*parts)


def _flat(cell: Cell, sep: str = "  ") -> Text:
    """A stacked cell (lines of one fact each) on one line, or with its lines kept for reasons."""
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    if sep != "\n":
        text.plain = text.plain.replace("\n", sep)
    return text


AUDIT_COLUMNS = tuple(
    Column(name, wraps=name == "reasons", min_width=20)
    for name in ("instance\nengine", "account\nregion", "CA", "expires\n(days)", "state", "reasons")
)


def audit_table(audit: Audit, color: bool = False, width: int | None = None) -> str:
    """One row per instance; instance and engine, where, expiry and verdict stack two facts a cell to
    stay narrow. Only the reasons wrap; a console too narrow for that gets one block per instance."""
    rows: list[list[Cell]] = []
    for v in sorted(audit.verdicts, key=sort_key):
        i = v.instance
        ends = [d for d in (v.ca_valid_till, i.server_cert_valid_till) if d]
        style = SEVERITY_STYLE[v.severity.value]
        days = "" if v.days_left is None else f"({v.days_left})"
        rows.append([
            Text(f"{i.id}\n{i.engine} {i.engine_version}"),
            f"{i.account_id}\n{i.region}",
            i.ca or "-",
            f"{day(min(ends) if ends else None)}\n{days}",
            Text(f"{v.state.value}\n{v.severity.value}", style=style),
            Text("\n".join((*v.reasons, *filter(None, [pending_note(i)])))),
        ])  # fmt: skip
    table = fitted("RDS certificate audit", AUDIT_COLUMNS, rows, show_lines=True)
    s = summary(audit)
    states = ", ".join(f"{n} {k}" for k, n in s["by_state"].items()) or "none"
    lines: list[object] = [table, f"{count(s['instances'], 'instance')}: {states}."]
    for t in audit.fleet.failed:
        lines.append(Text(f"FAILED {t.target.account_id} {t.target.region}: {t.error}", style="bold red"))
    return render(lines, color, width)


CAS_COLUMNS = tuple(
    Column(name) for name in ("CA", "account", "region", "valid from", "valid till", "default", "override")
)


def cas_table(regions: Sequence[RegionCAs], color: bool = False, width: int | None = None) -> str:
    rows: list[list[Cell]] = []
    for r in sorted(regions, key=lambda r: (r.account_id, r.region)):
        for a in sorted(r.authorities, key=lambda a: a.id):
            is_default = a.id == r.default_ca
            rows.append([
                a.id,
                r.account_id,
                r.region,
                day(a.valid_from),
                day(a.valid_till),
                "yes" if is_default else "",
                "yes" if a.customer_override else "",
            ])  # fmt: skip
    return render([fitted("RDS certificate authorities per region", CAS_COLUMNS, rows)], color, width)


def cas_inventory_table(inventory: CaInventory, color: bool = False, width: int | None = None) -> str:
    """The CAs of each region, then one line per target that could not be read."""
    text = cas_table(inventory.regions, color, width)
    for t in inventory.failed:
        text += f"FAILED {t.target.account_id} {t.target.region}: {t.error}\n"
    return text
