"""The audit as one self-contained HTML file: summary, expiry timeline, sortable instance table.

Nothing in the page is fetched: CSS, script and the SVG timeline are inline, and a
Content-Security-Policy with the hashes of the inline style and script forbids anything else.
Every value that comes from AWS goes through `e()` (text and attributes) or `_json()`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from rdsca import schemas
from rdsca.model import Audit, Severity, State, Verdict
from rdsca.report.audit import SEVERITY_ORDER, sort_key, summary
from rdsca.report.common import day, iso
from rdsca.report.html_actions import Advice, advise, plan_outcomes, reaches
from rdsca.report.timeline import earliest_expiry, timeline_svg

REPORT_SCHEMA = schemas.REPORT
ENV_TAG_KEYS = ("env", "environment", "stage", "tier")
STATE_ORDER = {s.value: n for n, s in enumerate(State)}
LEAD_FAILURES = 10  # failed targets named at the top of the page


def e(value: object) -> str:
    """Escape for HTML text and quoted attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def _json(data: Any) -> str:
    """JSON safe inside a <script> element: no `</`, `<!--` or `]]>` can end or confuse it."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _asset(name: str) -> str:
    return resources.files("rdsca.report").joinpath("assets", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Section:
    """An extra part of the report (a rollout, readiness results), HTML built with `e()`: `lead` is
    what the reader needs first (shown at the top of the page, above the audit), `body` the detail."""

    id: str
    title: str
    body: str
    lead: str = ""


def env_of(tags: Any) -> str:
    """The environment an instance belongs to, from the first env-like tag (any case)."""
    lowered = {str(k).lower(): v for k, v in dict(tags).items()}
    for key in ENV_TAG_KEYS:
        if lowered.get(key):
            return str(lowered[key])
    return "(untagged)"


def report_data(audit: Audit) -> dict[str, Any]:
    """The numbers the page shows, embedded as JSON for scripts and for anyone scraping the file."""
    return {
        "schema": REPORT_SCHEMA,
        "generated_at": iso(audit.generated_at),
        "warn_days": audit.warn_days,
        "summary": summary(audit),
        "by_account": _breakdown(audit.verdicts, lambda v: v.instance.account_id),
        "by_region": _breakdown(audit.verdicts, lambda v: v.instance.region),
        "by_env": _breakdown(audit.verdicts, lambda v: env_of(v.instance.tags)),
    }


def _breakdown(verdicts: Iterable[Verdict], key: Any) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = {}
    for v in verdicts:
        out.setdefault(key(v), Counter())[v.state.value] += 1
    return {k: dict(sorted(c.items())) for k, c in sorted(out.items())}


def tiles(kind: str, counts: dict[str, int], keys: Sequence[str], label: str) -> str:
    """A row of summary tiles: the count of each key, zero ones muted."""
    cells = "".join(
        f'<div class="card {kind}-{e(k)}{"" if counts.get(k) else " zero"}" data-summary="{kind}" '
        f'data-key="{e(k)}"><span class="n">{counts.get(k, 0)}</span><span class="k">{e(k)}</span></div>'
        for k in keys
    )
    return (
        f'<div class="cards" role="group" aria-label="{e(label)}">'
        f'<span class="cards-label">{e(label)}</span>{cells}</div>'
    )


def _breakdown_table(caption: str, kind: str, rows: dict[str, dict[str, int]]) -> str:
    states = [s.value for s in State]
    head = "".join(f"<th>{s}</th>" for s in states)
    body = "".join(
        f'<tr data-breakdown="{kind}" data-key="{e(k)}"><th scope="row">{e(k)}</th>'
        f'<td class="num">{sum(c.values())}</td>'
        + "".join(f'<td class="num{" zero" if not c.get(s) else ""}">{c.get(s, 0)}</td>' for s in states)
        + "</tr>"
        for k, c in rows.items()
    )
    return (
        f'<table class="breakdown"><caption>{caption}</caption>'
        f"<thead><tr><th></th><th>total</th>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def summary_section(audit: Audit, data: dict[str, Any]) -> str:
    """Counts by state and severity as tiles, and the targets that could not be read."""
    s = data["summary"]
    failed = "".join(
        f"<li>{e(t.target.account_id)} {e(t.target.region)}: {e(t.error)}</li>"
        for t in audit.fleet.failed[:LEAD_FAILURES]
    ) + (f"<li>and {n - LEAD_FAILURES} more</li>" if (n := len(audit.fleet.failed)) > LEAD_FAILURES else "")
    warning = (
        f'<div class="failed" role="alert"><strong>{len(audit.fleet.failed)} '
        f"{'target' if len(audit.fleet.failed) == 1 else 'targets'} could not be read"
        f"</strong>; their instances are missing from this report:<ul>{failed}</ul></div>"
        if failed
        else ""
    )
    return (
        '<section id="summary"><h2>Instances by state</h2>'
        f'<p class="lead"><span id="total">{s["instances"]}</span> instances in '
        f"{len(audit.fleet.targets)} targets (account x region), "
        f"{s['targets_failed']} failed.</p>{warning}"
        + tiles("state", s["by_state"], [x.value for x in State], "state")
        + tiles("severity", s["by_severity"], [x.value for x in Severity], "severity")
        + "</section>"
    )


def breakdown_section(data: dict[str, Any]) -> str:
    return (
        '<section id="breakdowns"><h2>By account, region and environment</h2><div class="breakdowns">'
        + _breakdown_table("By account", "account", data["by_account"])
        + _breakdown_table("By region", "region", data["by_region"])
        + _breakdown_table("By environment (env tag)", "env", data["by_env"])
        + "</div></section>"
    )


# (heading, sort type, column class): report.css gives each class a fixed share of the width, so
# that the table fits the page, the recommended action included, and never scrolls sideways.
COLUMNS = (
    ("instance", "text", "c-id"),
    ("account / region", "text", "c-where"),
    ("env", "text", "c-env"),
    ("CA", "text", "c-ca"),
    ("expires", "num", "c-expires"),
    ("state", "num", "c-state"),
    ("severity", "num", "c-sev"),
    ("reasons", "text", "c-reasons"),
    ("recommended action", "text", "c-action"),
)


def _command(command: str) -> str:
    """A command that wraps between its words, never inside a flag (`--ca-certificate-identifier`)."""
    return " ".join(f"<span>{e(w)}</span>" if w.startswith("--") else e(w) for w in command.split(" "))


def _action(advice: Advice) -> str:
    commands = "".join(f"<code>{_command(c)}</code>" for c in advice.commands)
    note = (
        f'<span class="{"none" if not advice.commands else "note"}">{e(advice.note)}</span>'
        if advice.note
        else ""
    )
    return commands + note


def _row(v: Verdict, advice: Advice) -> str:
    i = v.instance
    ends = earliest_expiry(v)
    days = "" if v.days_left is None else f"{v.days_left} days"
    sev, state = v.severity.value, v.state.value
    tags = " ".join(f"{k}={val}" for k, val in sorted(dict(i.tags).items()))
    cells = (
        f'<td class="id" data-v="{e(i.id)}"><strong>{e(i.id)}</strong>'
        f'<span class="sub">{e(i.engine)} {e(i.engine_version)}</span>'
        + (f'<span class="sub tags">{e(tags)}</span>' if tags else "")
        + "</td>",
        f'<td data-v="{e(i.account_id)} {e(i.region)}">{e(i.account_id)}'
        f'<span class="sub">{e(i.region)}</span></td>',
        f"<td>{e(env_of(i.tags))}</td>",
        f'<td class="ca">{e(i.ca or "-")}</td>',
        f'<td class="expires" data-v="{"1e9" if v.days_left is None else v.days_left}">{day(ends)}'
        f'<span class="sub">{days}</span></td>',
        f'<td data-v="{STATE_ORDER[state]}">{state}</td>',
        f'<td data-v="{SEVERITY_ORDER[sev]}"><span class="sev sev-{sev}">{sev}</span></td>',
        f'<td class="reasons">{"<br>".join(e(r) for r in v.reasons)}</td>',
        f'<td class="action">{_action(advice)}</td>',
    )
    return (
        f'<tr class="row-{sev}" data-id="{e(i.id)}" data-state="{state}" data-severity="{sev}">'
        f"{''.join(cells)}</tr>"
    )


def table_section(audit: Audit) -> str:
    outcomes, reach = plan_outcomes(audit), reaches(audit)
    cols = "".join(f'<col class="{c}">' for _, _, c in COLUMNS)
    head = "".join(
        f'<th data-type="{t}" scope="col" tabindex="0" aria-sort="none">{name}</th>' for name, t, _ in COLUMNS
    )
    rows = "".join(_row(v, advise(v, outcomes, reach)) for v in sorted(audit.verdicts, key=sort_key))
    states = "".join(f'<option value="{s.value}">{s.value}</option>' for s in State)
    sevs = "".join(f'<option value="{s.value}">{s.value}</option>' for s in Severity)
    return (
        '<section id="table"><h2>Instances</h2>'
        # printed instead of the controls (report.js keeps it in step with the filter)
        f'<p id="print-filter">all {len(audit.verdicts)} instances, no filter</p><div class="controls">'
        '<input id="filter" type="search" placeholder="Filter: id, account, region, tag, CA, reason..." '
        'aria-label="Filter instances">'
        f'<select id="state-filter" aria-label="State"><option value="">any state</option>{states}</select>'
        f'<select id="severity-filter" aria-label="Severity"><option value="">any severity</option>{sevs}'
        '</select><button id="clear-filter" type="button">show all</button>'
        '<span id="shown" aria-live="polite"></span></div>'
        f'<div class="scroll"><table id="instances"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div></section>"
    )


def render_html(audit: Audit, sections: Sequence[Section] = (), title: str = "RDS certificate report") -> str:
    """The whole report as one HTML document: what the reader needs first (a run's outcome, readiness
    and state tiles), then the timeline, the instances, the breakdowns and each section's detail."""
    data = report_data(audit)
    css = _asset("report.css")
    script = _asset("report.js")
    csp = (
        f"default-src 'none'; style-src '{_sha256(css)}'; script-src '{_sha256(script)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    leads = "".join(
        f'<section id="{e(s.id)}-lead" class="lead-block"><h2>{e(s.title)}</h2>{s.lead}</section>'
        for s in sections
        if s.lead
    )
    extra = "".join(
        f'<section id="{e(s.id)}"><h2>{e(s.title)}{": in detail" if s.lead else ""}</h2>{s.body}</section>'
        for s in sections
    )
    nav = "".join(
        f'<a href="#{a}">{t}</a>'
        for a, t in (("summary", "Summary"), ("timeline", "Timeline"), ("table", "Instances"))
    ) + "".join(f'<a href="#{e(s.id)}">{e(s.title)}</a>' for s in sections)
    env = lambda v: env_of(v.instance.tags)  # noqa: E731
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,">'
        f"<title>{e(title)}, {day(audit.generated_at)}</title><style>{css}</style></head><body>"
        f"<header><h1>{e(title)}</h1><p>Generated {e(iso(audit.generated_at))} by rdsca. "
        f"Warning horizon: {audit.warn_days} days.</p><nav>{nav}</nav></header><main>"
        + leads
        + summary_section(audit, data)
        + timeline_svg(audit.verdicts, audit.generated_at, audit.warn_days, env)
        + table_section(audit)
        + breakdown_section(data)
        + extra
        + "</main>"
        f'<script type="application/json" id="rdsca-data">{_json(data)}</script>'
        f"<script>{script}</script></body></html>\n"
    )
