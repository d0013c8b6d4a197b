"""The HTML report: self-contained, escaped, and working in a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rdsca.report.audit import audit_dict
from rdsca.report.html import render_html
from test_report_fixture import XSS, build_audit, synthetic_audit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing(reason: str) -> None:
    if os.environ.get("RDSCA_REQUIRE_REAL") == "1":
        pytest.fail(f"{reason} (RDSCA_REQUIRE_REAL=1)")
    pytest.skip(reason)


def ensure_chromium() -> str:
    """Debian's chromium: installed with apt when we are root and it is missing."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=False, capture_output=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=False, capture_output=True, env=env)
    if not Path(CHROMIUM).exists():
        _missing("chromium is not installed and could not be installed with apt")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = ensure_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("python playwright is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Loaded:
    """A report opened in a page, with every request, dialog and console error it caused."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.url = path.resolve().as_uri()
        self.page = browser.new_page(viewport={"width": 1600, "height": 1000})
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-ready]", timeout=15_000)

    def visible_ids(self) -> list[str]:
        return list(
            self.page.eval_on_selector_all(
                "#instances tbody tr", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.id)"
            )
        )

    def network(self) -> list[str]:
        """Requests other than the page's own file (the navigation itself is a request event)."""
        return [u for u in self.requests if u != self.url]


def assert_self_contained(text: str) -> None:
    assert not re.search(r"https?:", text, re.I), "an absolute URL in the report"
    for attr in re.findall(r'\s(?:src|href|action|xlink:href)="([^"]*)"', text):
        assert attr.startswith(("#", "data:")), f"a reference outside the file: {attr}"
    assert "@import" not in text and "url(" not in text


def check_report(browser: Any, path: Path, expected: dict[str, Any], shot: Path) -> Loaded:
    """Everything the issue asks of the page, checked from its DOM."""
    r = Loaded(browser, path)
    page = r.page
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    s = expected["summary"]
    assert page.text_content("#total") == str(s["instances"])
    for kind, counts in (("state", s["by_state"]), ("severity", s["by_severity"])):
        shown = page.eval_on_selector_all(
            f'[data-summary="{kind}"]',
            "cs => Object.fromEntries(cs.map(c => [c.dataset.key, +c.querySelector('.n').textContent]))",
        )
        assert {k: n for k, n in shown.items() if n} == counts
    accounts = page.eval_on_selector_all(
        '[data-breakdown="account"]',
        "rows => Object.fromEntries(rows.map(r => [r.dataset.key, +r.cells[1].textContent]))",
    )
    want: dict[str, int] = {}
    for inst in expected["instances"]:
        want[inst["account_id"]] = want.get(inst["account_id"], 0) + 1
    assert accounts == want
    # every instance counted once on the timeline (marks in one spot show their count)
    counts = page.eval_on_selector_all("#timeline-svg .mark", "ms => ms.map(m => +m.dataset.count)")
    assert sum(counts) == s["instances"]
    # the table: one row per instance, sortable, filterable
    assert page.locator("#instances tbody tr").count() == s["instances"]
    ids = sorted(i["id"] for i in expected["instances"])
    page.click("#instances th:nth-child(1)")
    assert r.visible_ids() == ids
    page.click("#instances th:nth-child(1)")
    assert r.visible_ids() == ids[::-1]
    page.click("#instances th:nth-child(5)")  # expires, by days left: -200 before -3 before 10
    days = page.eval_on_selector_all(
        "#instances tbody tr", "rows => rows.map(r => r.cells[4].querySelector('.sub').textContent)"
    )
    numbers = [int(d.split()[0]) for d in days if d]
    assert numbers == sorted(numbers)
    return r


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    text = render_html(build_audit())
    assert_self_contained(text)
    assert XSS not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert text.count("<script") == 2  # the JSON data and our own script, nothing else
    data = re.search(r'<script type="application/json" id="rdsca-data">(.*?)</script>', text, re.S)
    assert data and "</" not in data.group(1) and "<!--" not in data.group(1)
    assert json.loads(data.group(1))["summary"] == audit_dict(build_audit())["summary"]


def test_html_for_5000_instances_is_under_5_mb() -> None:
    size = len(render_html(synthetic_audit(5000)).encode("utf-8"))
    assert size < 5_000_000, f"{size / 1e6:.2f} MB"


def test_far_future_and_past_dates_are_clamped_to_the_axis() -> None:
    page = render_html(build_audit())
    text = page[page.index('<svg id="timeline-svg"') :].split("</svg>")[0]  # lanes by environment
    marks = re.findall(r'class="mark[^"]*"[^>]*?data-count="(\d+)"', text)
    assert sum(int(n) for n in marks) == len(build_audit().verdicts)
    xs = [float(x) for x in re.findall(r'<circle[^>]* cx="([-\d.]+)"', text)]
    assert xs and all(0 <= x <= 1320 for x in xs)
    assert "later (2)" in text and "no date (1)" in text and "latest 2121-05-24" in page


@pytest.mark.browser
def test_report_in_headless_chromium(browser: Any, tmp_path: Path) -> None:
    audit = build_audit()
    path = tmp_path / "report.html"
    path.write_text(render_html(audit), encoding="utf-8")
    r = check_report(browser, path, audit_dict(audit), tmp_path / "report.png")
    page = r.page
    # filtering by text, then by state
    page.fill("#filter", "billing")
    assert r.visible_ids() == ["billing-stg"]
    page.fill("#filter", "<script>")  # the tag value is searchable text, shown as text
    assert r.visible_ids() == ["billing-stg"]
    assert XSS in page.text_content("#instances .tags:visible")
    page.fill("#filter", "")
    page.select_option("#state-filter", "expiring")
    assert len(r.visible_ids()) == 3
    assert page.text_content("#shown") == "3 of 12 instances shown"
    # clicking a timeline mark narrows the table to that instance
    page.select_option("#state-filter", "")
    page.click('#timeline-svg .mark[data-ids="legacy-2019"]')
    assert r.visible_ids() == ["legacy-2019"]
    # the script element in the tag never became an element nor ran
    assert r.dialogs == []
    assert page.locator("script").count() == 2
    assert page.evaluate("document.querySelectorAll('td script, th script, svg script').length") == 0
    assert r.network() == []
    assert r.errors == []  # includes CSP violations: our own style and script match their hashes
    page.close()


@pytest.mark.browser
def test_audit_format_html_of_the_sandbox_fleet(
    browser: Any, demo_sandbox: Any, sandbox_env: Any, tmp_path: Path
) -> None:
    """`rdsca audit --format html` against the sandbox's demo fleet, checked against its JSON."""
    from rdsca.cli.app import main

    html_path, json_path = tmp_path / "audit.html", tmp_path / "audit.json"
    assert main(["audit", "--format", "json", "-o", str(json_path)]) in (0, 3)
    assert main(["audit", "--format", "html", "-o", str(html_path)]) in (0, 3)
    expected = json.loads(json_path.read_text())
    text = html_path.read_text()
    assert_self_contained(text)
    assert XSS not in text
    r = check_report(browser, html_path, expected, tmp_path / "sandbox-report.png")
    tagged = [i["id"] for i in expected["instances"] if XSS in i["tags"].values()]
    assert tagged
    r.page.fill("#filter", XSS)
    assert r.visible_ids() == tagged
    assert r.dialogs == [] and r.network() == [] and r.errors == []
    assert r.page.locator("script").count() == 2
    r.page.close()


def test_report_command_writes_the_file(
    demo_sandbox: Any, sandbox_env: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from rdsca.cli.app import main

    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 0
    text = (tmp_path / "rdsca-report.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and 'id="timeline-svg"' in text
    assert_self_contained(text)
