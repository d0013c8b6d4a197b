"""The HTML report as a reader sees it on a 1400 px laptop screen, and on A4 paper.

Checked in headless Chromium by element geometry: what the reader needs first is above the fold
(900 px), the recommended action fits the width without sideways scrolling, the timeline's time axis
has dated, non-overlapping labels, and the print stylesheet keeps the table on the page. The advice
in each row is checked against what `rdsca plan` does with the same instance.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import shlex
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rdsca.model import Audit, RebootForecast, State
from rdsca.report.audit import audit_dict
from rdsca.report.html import render_html
from support.cli import run
from support.sandbox import SandboxHandle
from test_report_fixture import A1, NOW, build_audit, instance, synthetic_audit
from test_report_html import browser  # noqa: F401  (the Chromium fixture)

WIDTH, FOLD = 1400, 900
A4_LANDSCAPE = 1032  # px across A4 landscape inside 12 mm margins (297 mm - 24 mm at 96 px per inch)
US = "us-east-1"
OLD_BUNDLE = Path(__file__).parents[1] / "src/rdsca/catalog/data/rds-combined-ca-bundle-2019.pem"
TICK = re.compile(r"^((Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) )?\d{4}$")


def open_page(browser: Any, path: Path, width: int = WIDTH, height: int = FOLD) -> Any:  # noqa: F811
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready]", timeout=15_000)
    assert errors == []
    return page


def rects(page: Any, selector: str) -> list[dict[str, float]]:
    return list(
        page.eval_on_selector_all(
            selector,
            "els => els.map(e => { const r = e.getBoundingClientRect(); "
            "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width}; })",
        )
    )


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def no_sideways_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    inner = page.eval_on_selector(".scroll", "s => [s.scrollWidth, s.clientWidth]")
    assert inner[0] <= inner[1], f"the instance table scrolls sideways: {inner}"


def write(tmp_path: Path, audit: Audit, name: str = "report.html") -> Path:
    path = tmp_path / name
    path.write_text(render_html(audit), encoding="utf-8")
    return path


def action_cells(text: str) -> dict[str, str]:
    """Instance id -> the text of its recommended action cell (one line per command), from the HTML."""
    out = {}
    for row in re.findall(r'<tr class="row-.*?</tr>', text, re.S):
        ident = re.search(r'<td class="id"[^>]*>(?:<strong>)?([^<]+)', row)
        cell = re.search(r'<td class="action">(.*?)</td>', row, re.S)
        assert ident and cell, row
        out[ident.group(1)] = re.sub(r"<[^>]+>", "", cell.group(1).replace("</code>", "\n"))
    return out


# --- unknown CA ids --------------------------------------------------------------------------------


def test_a_junk_ca_id_is_unknown_not_retired(tmp_path: Path) -> None:
    audit = build_audit(
        [
            instance(A1, "eu-west-1", "moto-default", ca="rds-ca-default", cert_days=250),
            instance(A1, "eu-west-1", "banana", ca="banana", cert_days=250),
            instance(A1, "eu-west-1", "legacy", ca="rds-ca-2019", cert_days=-200),
        ]
    )
    states = {v.instance.id: v for v in audit.verdicts}
    for ident, ca in (("moto-default", "rds-ca-default"), ("banana", "banana")):
        v = states[ident]
        assert v.state is State.UNKNOWN_CA
        assert any(r.startswith(f"unknown CA {ca}") for r in v.reasons)
        assert not any("retired" in r for r in v.reasons)
    assert states["legacy"].state is State.RETIRED_CA  # known to the catalogue, gone from the region
    doc = audit_dict(audit)
    assert {i["id"]: i["state"] for i in doc["instances"]} == {
        "moto-default": "unknown-ca",
        "banana": "unknown-ca",
        "legacy": "retired-ca",
    }
    text = render_html(audit)
    assert 'data-id="banana" data-state="unknown-ca"' in text
    assert 'data-summary="state" data-key="unknown-ca"><span class="n">2</span>' in text


def test_audit_of_an_instance_on_moto_default_ca_says_unknown(
    demo: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto gives an instance `rds-ca-default`, an id no region lists and no catalogue knows. The
    sandbox (in this process) refuses it through the API, as AWS would, so it is set in moto's state."""
    from moto.rds.models import rds_backends

    from rdsca.sandbox.fleet import force_state

    db = rds_backends[A1][US].databases["scratch-pg"]
    force_state(db, "rds-ca-default", NOW, leaf_days=300)
    code, out, err = run(
        capsys, "audit", "--format", "json", "--id", "scratch-pg", "--id", "billing-prod-mysql"
    )
    assert code == 0, err
    doc = {i["id"]: i for i in json.loads(out)["instances"]}
    assert doc["scratch-pg"]["state"] == "unknown-ca"
    assert doc["scratch-pg"]["reasons"][0].startswith("unknown CA rds-ca-default")
    assert doc["billing-prod-mysql"]["state"] == "retired-ca"  # rds-ca-2019: known, and retired
    page = tmp_path / "r.html"
    assert run(capsys, "report", "-o", str(page))[0] == 0
    text = page.read_text()
    assert 'data-id="scratch-pg" data-state="unknown-ca"' in text


# --- the recommended action is what `rdsca plan` would do -----------------------------------------


def _estate() -> Audit:
    """Instances plan leaves out (stopped, creating, deleting, supported CAs unknown) and a Multi-AZ DB
    cluster whose members only a cluster change can rotate, all on the retired rds-ca-2019."""
    old = {"ca": "rds-ca-2019", "cert_days": -200}
    busy = [
        dataclasses.replace(instance(A1, "eu-west-1", f"{status}-db", **old), status=status)  # type: ignore[arg-type]
        for status in ("stopped", "creating", "deleting", "storage-full")
    ]
    unknown_support = dataclasses.replace(instance(A1, "eu-west-1", "nocaps-db", **old), supported_cas=())  # type: ignore[arg-type]
    members = [
        dataclasses.replace(instance(A1, "eu-west-1", f"ledger-{n}", **old), cluster="ledger")  # type: ignore[arg-type]
        for n in (1, 2, 3)
    ]
    ready = instance(A1, "eu-west-1", "ready-db", **old)  # type: ignore[arg-type]
    return build_audit([*busy, unknown_support, *members, ready])


def test_no_change_is_advised_that_plan_would_not_make() -> None:
    from rdsca.rollout.plan import PlanPolicy
    from rdsca.rollout.planner import build

    audit = _estate()
    cells = action_cells(render_html(audit))
    for status in ("stopped", "creating", "deleting", "storage-full"):
        cell = cells[f"{status}-db"]
        assert "modify-db-instance" not in cell and "rdsca plan" not in cell, cell
        assert f"status {status}, not available" in cell
    assert "aws rds start-db-instance --db-instance-identifier stopped-db" in cells["stopped-db"]
    assert "rdsca plan" not in cells["nocaps-db"] and "supported CAs unknown" in cells["nocaps-db"]
    for n in (1, 2, 3):
        cell = cells[f"ledger-{n}"]
        assert "modify-db-instance" not in cell
        assert "aws rds modify-db-cluster --db-cluster-identifier ledger --ca-certificate-identifier" in cell
        assert "rdsca plan --to rds-ca-rsa2048-g1 --id ledger-1 --id ledger-2 --id ledger-3" in cell
    assert "aws rds modify-db-instance --db-instance-identifier ready-db" in cells["ready-db"]
    # every `rdsca plan` the page suggests plans the instance it is suggested for
    plan = build(audit.fleet, "rds-ca-rsa2048-g1", PlanPolicy(), NOW)
    planned = {m for s in plan.steps for m in s.instance_ids}
    suggested = {ident for ident, cell in cells.items() if "rdsca plan" in cell}
    assert suggested == planned == {"ledger-1", "ledger-2", "ledger-3", "ready-db"}


def test_the_advice_in_the_sandbox_report_is_what_plan_does(
    demo: SandboxHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stopped instance on the retired CA gets no modify advice, and every `rdsca plan` command the
    page gives, run as written, plans the instance it was given for."""
    rds = demo.client("rds", US, account=A1)
    rds.stop_db_instance(DBInstanceIdentifier="billing-prod-mysql")
    page = tmp_path / "r.html"
    code, _, err = run(capsys, "report", "-o", str(page))
    assert code == 0, err
    cells = action_cells(page.read_text())
    stopped = cells["billing-prod-mysql"]
    assert "modify-db-instance" not in stopped and "rdsca plan" not in stopped
    assert "status stopped" in stopped
    code, out, err = run(capsys, "plan", "--to", "rds-ca-rsa2048-g1", "--id", "billing-prod-mysql",
                         "-o", str(tmp_path / "p0.json"), "-f", "json")  # fmt: skip
    assert not json.loads(out)["steps"]
    commands = sorted(
        {c for cell in cells.values() for c in re.findall(r"rdsca plan [^<\n]*?--region \S+", cell)}
    )
    assert commands
    for n, command in enumerate(commands[:4]):
        args = shlex.split(command)[1:]
        ids = [args[k + 1] for k, a in enumerate(args) if a == "--id"]
        code, out, err = run(capsys, *args, "-o", str(tmp_path / f"p{n + 1}.json"), "-f", "json")
        assert code == 0, err
        planned = {m for s in json.loads(out)["steps"] for m in (s.get("members") or [s["id"]])}
        assert set(ids) <= planned, (command, planned)


def plan_commands_by_account(text: str) -> dict[tuple[str, str], list[str]]:
    """(account, instance id) -> the `rdsca plan` commands of its row (an id may be in two accounts)."""
    out: dict[tuple[str, str], list[str]] = {}
    for row in re.findall(r'<tr class="row-.*?</tr>', text, re.S):
        ident = re.search(r'<td class="id"[^>]*>(?:<strong>)?([^<]+)', row)
        where = re.search(r'<td data-v="(\d{12}) ', row)
        cell = re.search(r'<td class="action">(.*?)</td>', row, re.S)
        assert ident and where and cell, row
        lines = html.unescape(re.sub(r"<[^>]+>", "", cell.group(1).replace("</code>", "\n"))).splitlines()
        key = (where.group(1), ident.group(1))
        assert key not in out, key
        out[key] = [line for line in lines if line.startswith("rdsca plan ")]
    return out


def test_an_account_read_through_a_profile_is_named_by_it_in_every_command() -> None:
    """The same id on the retired CA in two accounts, each read through its own profile (rendered
    without AWS: the CLI case is the xfail below). Every command names the row's profile; the
    AWS CLI commands too, since that profile's keys are that account's."""
    from rdsca.assess import Policy, evaluate
    from rdsca.model import TargetStatus
    from test_report_fixture import A2

    twins = [instance(a, US, "twin-db", ca="rds-ca-2019", cert_days=-200) for a in (A1, A2)]
    audit = build_audit(twins)
    profiles = {A1: "team-a", A2: "team b"}
    targets = tuple(
        TargetStatus(dataclasses.replace(t.target, profile=profiles[t.target.account_id]), t.ok, t.error)
        for t in audit.fleet.targets
        if t.target.account_id in profiles
    )
    fleet = dataclasses.replace(audit.fleet, targets=targets)
    text = render_html(evaluate(fleet, NOW, Policy(warn_days=audit.warn_days)))
    rows = {k: v for k, v in plan_commands_by_account(text).items() if k[1] == "twin-db"}
    assert rows == {
        (A1, "twin-db"): [f"rdsca plan --to rds-ca-rsa2048-g1 --id twin-db --profile team-a --region {US}"],
        (A2, "twin-db"): [f"rdsca plan --to rds-ca-rsa2048-g1 --id twin-db --profile 'team b' --region {US}"],
    }
    assert f"--apply-immediately --profile team-a --region {US}" in text.replace("<span>", "").replace(
        "</span>", ""
    )


@pytest.mark.parametrize("reached_by", ["role", "profile"])
def test_the_plan_advised_in_one_account_leaves_a_same_named_instance_in_another_alone(
    demo: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    reached_by: str,
) -> None:
    """The audit reads two accounts, by assuming a role in each (RDSCA_ACCOUNTS) or by one profile
    each (--profile), and both hold a billing-prod-mysql on the retired CA: each row's `rdsca plan`,
    run as written in that same environment, plans its own account's instance and not the other's."""
    from moto.rds.models import rds_backends

    from rdsca.sandbox.demo import A2
    from rdsca.sandbox.fleet import force_state

    twin = "billing-prod-mysql"  # in A1 (the demo fleet) and now in A2
    demo.client("rds", US, account=A2).create_db_instance(
        DBInstanceIdentifier=twin, DBInstanceClass="db.m5.large", Engine="mysql", EngineVersion="8.0.28",
        MasterUsername="admin", MasterUserPassword="sandbox-password", AllocatedStorage=20,
    )  # fmt: skip
    force_state(rds_backends[A2][US].databases[twin], "rds-ca-2019", NOW)
    flags = {A1: f"--accounts {A1} --role-name rdsca-audit", A2: f"--accounts {A2} --role-name rdsca-audit"}
    audit_args: tuple[str, ...] = ()
    if reached_by == "profile":  # a profile per account, holding keys of that account
        monkeypatch.delenv("RDSCA_ACCOUNTS")
        monkeypatch.delenv("RDSCA_ROLE_NAME")
        profiles = {A1: "team-a", A2: "team-b"}
        creds = "".join(
            f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in demo.credentials(acct).items())
            for acct, name in profiles.items()
        )
        (tmp_path / "credentials").write_text(creds)
        (tmp_path / "config").write_text("")
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
        flags = {acct: f"--profile {name}" for acct, name in profiles.items()}
        audit_args = ("--profile", "team-a", "--profile", "team-b")
    page = tmp_path / "r.html"
    code, _, err = run(capsys, "report", *audit_args, "--region", US, "-o", str(page))
    assert code == 0, err
    commands = plan_commands_by_account(page.read_text())
    for n, account in enumerate((A1, A2)):
        [command] = commands[(account, twin)]
        assert f"{flags[account]} --region {US}" in command, command
        code, out, err = run(
            capsys, *shlex.split(command)[1:], "-o", str(tmp_path / f"p{n}.json"), "-f", "json"
        )
        assert code == 0, err
        planned = {
            (s["account"], m) for s in json.loads(out)["steps"] for m in (s.get("members") or [s["id"]])
        }
        assert planned == {(account, twin)}, (command, planned)


def test_a_multi_az_db_cluster_member_gets_the_cluster_command(
    sandbox_env: SandboxHandle,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A Multi-AZ DB cluster in the sandbox, its members on the retired rds-ca-2019 (set in moto's
    state: the API refuses a retired CA): every member's advice is the cluster's command, and the
    `rdsca plan` it gives plans one modify-cluster step for all of them."""
    from moto.rds.models import rds_backends

    from rdsca.sandbox.fleet import force_state

    monkeypatch.setenv("RDSCA_REGIONS", US)
    rds = sandbox_env.client("rds", US, account=A1)
    rds.create_db_cluster(DBClusterIdentifier="ledger-maz", Engine="postgres", EngineVersion="15.8",
                          MasterUsername="admin", MasterUserPassword="sandbox-password",
                          DBClusterInstanceClass="db.m5d.large", AllocatedStorage=100, StorageType="io1",
                          Iops=1000)  # fmt: skip
    members = ("ledger-maz-1", "ledger-maz-2", "ledger-maz-3")
    for n, member in enumerate(members):
        rds.create_db_instance(DBInstanceIdentifier=member, DBInstanceClass="db.m5d.large",
                               Engine="postgres", DBClusterIdentifier="ledger-maz",
                               AvailabilityZone=f"{US}{'abc'[n]}")  # fmt: skip
        force_state(rds_backends[A1][US].databases[member], "rds-ca-2019", NOW)
    page = tmp_path / "r.html"
    code, _, err = run(capsys, "report", "-o", str(page))
    assert code == 0, err
    cells = action_cells(page.read_text())
    for member in members:
        assert "aws rds modify-db-cluster --db-cluster-identifier ledger-maz" in cells[member], cells[member]
        assert "modify-db-instance" not in cells[member]
    command = re.search(r"rdsca plan [^\n]*", cells[members[0]]).group(0)  # type: ignore[union-attr]
    assert all(f"--id {m}" in command for m in members)
    code, out, err = run(capsys, *shlex.split(command)[1:], "-o", str(tmp_path / "p.json"), "-f", "json")
    assert code == 0, err
    steps = json.loads(out)["steps"]
    assert [(s["kind"], s["id"], sorted(s["members"])) for s in steps] == [
        ("modify-cluster", "ledger-maz", list(members))
    ]


# --- at 1400 px: what comes first, and no sideways scrolling --------------------------------------


@pytest.mark.browser
def test_the_action_column_fits_1400_px(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    for name, audit in (("fixture.html", build_audit()), ("large.html", synthetic_audit(300))):
        page = open_page(browser, write(tmp_path, audit, name))
        no_sideways_scroll(page, WIDTH)
        viewport = page.evaluate("document.documentElement.clientWidth")
        cells = rects(page, "#instances td.action")
        assert len(cells) == len(audit.verdicts)
        assert all(c["left"] > 0 and c["right"] <= viewport for c in cells), max(c["right"] for c in cells)
        head = rects(page, "#instances th")[-1]
        assert page.text_content("#instances th:last-child") == "recommended action"
        assert head["right"] <= viewport and head["width"] >= 250
        page.close()


@pytest.mark.browser
def test_state_tiles_are_above_the_fold(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    page = open_page(browser, write(tmp_path, synthetic_audit(300)))
    tiles = rects(page, '[data-summary="state"]') + rects(page, '[data-summary="severity"]')
    assert len(tiles) == len(State) + 5
    assert all(t["bottom"] <= FOLD for t in tiles)
    page.close()


@pytest.mark.browser
def test_readiness_verdicts_are_tiles_above_the_fold(
    browser: Any,  # noqa: F811
    demo: SandboxHandle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    saved = tmp_path / "readiness.json"
    code, _, err = run(capsys, "readiness", "--to", "rds-ca-rsa2048-g1", "--bundle", str(OLD_BUNDLE),
                       "--no-probe", "--format", "json", "--output", str(saved))  # fmt: skip
    assert code == 3, err
    doc = json.loads(saved.read_text())
    path = tmp_path / "report.html"
    assert run(capsys, "report", "--readiness", str(saved), "-o", str(path))[0] == 0
    page = open_page(browser, path)
    shown = page.eval_on_selector_all(
        '[data-summary="verdict"]', "cs => cs.map(c => [c.dataset.key, +c.querySelector('.n').textContent])"
    )
    assert {k: n for k, n in shown if n} == doc["summary"]
    assert [k for k, _ in shown][:3] == ["at-risk", "unknown", "ready"]
    tiles = rects(page, '[data-summary="verdict"]') + rects(page, '[data-summary="state"]')
    assert all(t["bottom"] <= FOLD for t in tiles), [t["bottom"] for t in tiles]
    assert page.locator("#readiness-lead").is_visible()
    no_sideways_scroll(page, WIDTH)
    page.close()


@pytest.mark.browser
def test_a_run_shows_its_outcome_per_wave_failures_and_rollbacks_first(
    browser: Any,  # noqa: F811
    demo: SandboxHandle,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    journal, plan = tmp_path / "j.sqlite", tmp_path / "plan.json"
    ids = ("analytics-dev-pg", "sessions-dev-mariadb", "legacy-dev-mysql57", "reports-staging-pg")
    code, _, err = run(capsys, "plan", "--to", "rds-ca-rsa2048-g1", "--wave-tag", "env", "--wave-order",
                       "dev,staging", "-o", str(plan), *(a for i in ids for a in ("--id", i)))  # fmt: skip
    assert code == 0, err
    demo.control.misbehave(A1, US, "legacy-dev-mysql57", "fail")
    code, out, err = run(capsys, "apply", str(plan), "--journal", str(journal), "--poll-interval", "0.05",
                         "--yes")  # fmt: skip
    assert code != 0
    run_id = re.search(r"^run (\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    demo.control.misbehave(A1, US, "legacy-dev-mysql57", None)
    run(capsys, "rollback", run_id, "--journal", str(journal), "--poll-interval", "0.05", "--yes")
    path = tmp_path / "run.html"
    code, _, err = run(capsys, "report", "--run", run_id, "--journal", str(journal), "-o", str(path))
    assert code == 0, err
    page = open_page(browser, path)
    waves = page.eval_on_selector_all(
        "[data-wave-tile]", "ts => ts.map(t => [t.dataset.waveTile, t.dataset.outcome])"
    )
    assert waves and waves[0] == ["dev", "bad"]
    failures = page.text_content("#run-failures")
    assert "legacy-dev-mysql57" in failures
    assert "rolled back by" in page.text_content("#run-rollbacks")
    first = rects(page, "[data-wave-tile]") + rects(page, "#run-failures") + rects(page, "#run-rollbacks")
    assert all(r["bottom"] <= FOLD for r in first), [r["bottom"] for r in first]
    # the outcome comes before the audit's own summary
    assert rects(page, "#rollout-lead")[0]["bottom"] <= rects(page, "#summary")[0]["top"]
    no_sideways_scroll(page, WIDTH)
    page.close()


# --- the timeline: a dated axis, labelled lanes, counts where marks meet, reboot forecasts ----------


@pytest.mark.browser
def test_timeline_axis_is_dated_and_labelled(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    audit = synthetic_audit(500)
    page = open_page(browser, write(tmp_path, audit))
    labels = page.eval_on_selector_all("#timeline-svg .tick-label", "ts => ts.map(t => t.textContent)")
    assert len(labels) >= 4 and all(TICK.match(t) for t in labels), labels
    boxes = rects(page, "#timeline-svg .tick-label")
    assert all(b["width"] > 0 for b in boxes)
    assert not any(overlap(a, b) for n, a in enumerate(boxes) for b in boxes[n + 1 :])
    assert "expiry" in page.text_content("#timeline-svg .axis-title")
    assert page.text_content("#timeline-svg .today-label") == f"today {NOW:%Y-%m-%d}"
    lanes = page.eval_on_selector_all("#timeline-svg .lane-label", "ls => ls.map(l => l.textContent)")
    assert lanes == ["dev (167)", "prod (166)", "staging (167)"]
    # every instance counted once; marks in one spot show their count, and no mark covers another
    marks = page.eval_on_selector_all(
        "#timeline-svg .mark",
        "ms => ms.map(m => [+m.dataset.count, (m.querySelector('.count') || {}).textContent])",
    )
    assert sum(n for n, _ in marks) == len(audit.verdicts)
    assert all(str(n) == shown for n, shown in marks if 1 < n < 100)
    dots = rects(page, "#timeline-svg .mark circle, #timeline-svg circle.mark")
    assert not any(overlap(a, b) for n, a in enumerate(dots) for b in dots[n + 1 :])
    # the same marks, in lanes by state
    page.select_option("#lanes-by", "timeline-svg-state")
    assert not page.locator("#timeline-svg").is_visible() and page.locator("#timeline-svg-state").is_visible()
    lanes = page.eval_on_selector_all("#timeline-svg-state .lane-label", "ls => ls.map(l => l.textContent)")
    by_state = Counter(v.state.value for v in audit.verdicts)
    assert lanes == [f"{s.value} ({by_state[s.value]})" for s in State if by_state[s.value]]
    counts = page.eval_on_selector_all("#timeline-svg-state .mark", "ms => ms.map(m => +m.dataset.count)")
    assert sum(counts) == len(audit.verdicts)
    page.select_option("#lanes-by", "timeline-svg")
    # a mark narrows the table to the instances it stands for
    page.click("#timeline-svg g.mark >> nth=0")
    picked = page.eval_on_selector("#timeline-svg g.mark", "m => m.dataset.ids.split(' ')")
    shown = page.eval_on_selector_all(
        "#instances tbody tr", "rs => rs.filter(r => !r.hidden).map(r => r.dataset.id)"
    )
    assert sorted(shown) == sorted(picked)
    page.close()


@pytest.mark.browser
def test_reboot_forecasts_are_drawn_with_a_legend(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    audit = build_audit()
    at = NOW + timedelta(days=20)
    forecast = RebootForecast(at=at, auto_apply=at, window="tue:03:00-tue:03:30", source="pending-action",
                              action="ca-certificate-rotation")  # fmt: skip
    verdicts = tuple(
        dataclasses.replace(v, reboot_forecast=forecast) if v.instance.id == "maint-dev" else v
        for v in audit.verdicts
    )
    page = open_page(browser, write(tmp_path, dataclasses.replace(audit, verdicts=verdicts)))
    marks = page.eval_on_selector_all("#timeline-svg .forecast", "fs => fs.map(f => f.dataset.ids)")
    assert marks == ["maint-dev"]
    title = page.text_content("#timeline-svg .forecast title")
    assert "RDS reboot expected" in title and f"{at:%Y-%m-%d}" in title and "ca-certificate-rotation" in title
    assert page.locator(".legend .key-forecast").is_visible()
    mark = rects(page, "#timeline-svg .forecast path")[0]
    today = rects(page, "#timeline-svg line.today")[0]
    assert mark["left"] > today["right"]  # 20 days ahead: right of today
    dev = page.eval_on_selector(
        '#timeline-svg [data-lane="dev"] rect', "r => r.getBoundingClientRect().bottom"
    )
    assert mark["bottom"] <= dev  # in its instance's lane
    page.close()
    plain = write(tmp_path, audit, "plain.html").read_text()
    assert 'class="forecast"' not in plain and 'class="key key-forecast"' not in plain


# --- paper -----------------------------------------------------------------------------------------


@pytest.mark.browser
def test_print_keeps_the_table_on_a4_without_controls(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    page = open_page(browser, write(tmp_path, synthetic_audit(200)), width=A4_LANDSCAPE, height=730)
    page.emulate_media(media="print")
    for hidden in ("nav", ".controls", "#filter", "#state-filter"):
        assert not page.locator(hidden).is_visible(), hidden
    scroll = page.eval_on_selector(
        ".scroll", "s => [getComputedStyle(s).overflowY, getComputedStyle(s).maxHeight]"
    )
    assert scroll == ["visible", "none"]
    assert page.evaluate("document.documentElement.scrollWidth") <= A4_LANDSCAPE
    table = rects(page, "#instances")[0]
    assert table["right"] <= A4_LANDSCAPE
    assert all(c["right"] <= A4_LANDSCAPE for c in rects(page, "#instances td.action"))
    assert all(r["right"] <= A4_LANDSCAPE for r in rects(page, "#timeline-svg"))
    pdf = page.pdf(prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.close()


def printed_rows(page: Any) -> list[str]:
    """The ids of the table rows that take space on the page (on screen, or in print media)."""
    return list(
        page.eval_on_selector_all(
            "#instances tbody tr",
            "rs => rs.filter(r => r.getBoundingClientRect().height > 0).map(r => r.dataset.id)",
        )
    )


@pytest.mark.browser
def test_print_shows_the_rows_the_screen_shows_and_says_the_filter(browser: Any, tmp_path: Path) -> None:  # noqa: F811
    """A reader filters the table, then prints: the paper has the rows the screen had, and says which
    filter made them (the controls themselves are not printed); with no filter it says so."""
    audit = synthetic_audit(200)
    page = open_page(browser, write(tmp_path, audit), width=A4_LANDSCAPE, height=730)
    assert not page.locator("#print-filter").is_visible()  # on screen the controls say it
    page.select_option("#state-filter", "expired")
    page.fill("#filter", "prod")
    on_screen = printed_rows(page)
    expired = sum(1 for v in audit.verdicts if v.state is State.EXPIRED)
    assert 0 < len(on_screen) < expired < len(audit.verdicts)
    page.emulate_media(media="print")
    assert printed_rows(page) == on_screen
    note = page.locator("#print-filter")
    assert note.is_visible()
    assert note.text_content() == (
        f'filtered: text "prod", state=expired; {len(on_screen)} of {len(audit.verdicts)} instances '
        "(the summary and timeline count them all)"
    )
    assert rects(page, "#print-filter")[0]["bottom"] <= rects(page, "#instances")[0]["top"]
    page.emulate_media(media="screen")
    page.click("#clear-filter")
    page.emulate_media(media="print")
    assert len(printed_rows(page)) == len(audit.verdicts)
    assert note.text_content() == f"all {len(audit.verdicts)} instances, no filter"
    page.emulate_media(media="screen")
    page.click("#timeline-svg g.mark >> nth=0")  # a timeline mark narrows the table too
    picked = printed_rows(page)
    page.emulate_media(media="print")
    assert printed_rows(page) == picked
    assert note.text_content().startswith(f"filtered: a timeline mark ({len(picked)}); {len(picked)} of ")
    page.close()


def test_screenshots_of_each_report_kind_are_in_the_docs() -> None:
    docs = Path(__file__).parents[1] / "docs"
    text = (docs / "reports.md").read_text()
    for kind in ("audit", "run", "readiness"):
        png = docs / "img" / f"report-{kind}.png"
        assert f"img/report-{kind}.png" in text
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size < 300_000


def test_many_environments_share_an_other_lane() -> None:
    envs = [f"team-{n:02d}" for n in range(12)]
    audit = build_audit([instance(A1, "eu-west-1", f"db-{n}", env=env) for n, env in enumerate(envs * 2)])
    text = render_html(audit)
    by_env = text[text.index('<svg id="timeline-svg"') :].split("</svg>")[0]
    lanes = re.findall(r'<text class="lane-label"[^>]*>([^<]*)</text>', by_env)
    assert len(lanes) == 8 and lanes[-1] == "other (10)"
    assert sum(int(re.search(r"\((\d+)\)$", lane).group(1)) for lane in lanes) == 24  # type: ignore[union-attr]
