"""Prometheus textfile and Markdown: parse them back and compare with the JSON envelope."""

from __future__ import annotations

import re
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families

from rdsca.model import State
from rdsca.report.audit import audit_dict, to_markdown
from rdsca.report.prometheus import to_prometheus
from test_report_fixture import XSS, build_audit, instance


def families(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    return {
        f.name: [(dict(s.labels), s.value) for s in f.samples] for f in text_string_to_metric_families(text)
    }


def test_prometheus_parses_and_matches_the_audit() -> None:
    audit = build_audit()
    doc = audit_dict(audit)
    text = to_prometheus(audit)
    fams = families(text)
    for name in (
        "rdsca_certificate_expiry_timestamp_seconds",
        "rdsca_instance_state",
        "rdsca_days_left",
        "rdsca_target_up",
    ):
        assert f"# HELP {name} " in text and f"# TYPE {name} gauge" in text
    # exactly one state is 1 per instance, and they add up to the JSON summary
    current = [lab for lab, val in fams["rdsca_instance_state"] if val == 1]
    assert len(current) == len(doc["instances"])
    assert dict(Counter(lab["state"] for lab in current)) == doc["summary"]["by_state"]
    assert len(fams["rdsca_instance_state"]) == len(doc["instances"]) * len(State)
    # expiry timestamps equal the JSON's dates, per kind
    samples = fams["rdsca_certificate_expiry_timestamp_seconds"]
    expiry = {(lab["instance"], lab["kind"]): val for lab, val in samples}
    for v in audit.verdicts:
        for kind, when in (("ca", v.ca_valid_till), ("server", v.instance.server_cert_valid_till)):
            if when is not None:
                assert expiry[(v.instance.id, kind)] == int(when.timestamp())
    days = {lab["instance"]: val for lab, val in fams["rdsca_days_left"]}
    assert days == {i["id"]: i["days_left"] for i in doc["instances"] if i["days_left"] is not None}
    up = {(lab["account"], lab["region"]): val for lab, val in fams["rdsca_target_up"]}
    assert up == {(t["account_id"], t["region"]): (1 if t["ok"] else 0) for t in doc["targets"]}


def test_prometheus_escapes_label_values() -> None:
    nasty = 'db"with\\odd\nname'
    audit = build_audit([instance("111111111111", "eu-west-1", nasty, tags={"owner": XSS})])
    fams = families(to_prometheus(audit))
    assert {lab["instance"] for lab, _ in fams["rdsca_days_left"]} == {nasty}


def test_markdown_shows_the_same_numbers_as_the_json() -> None:
    audit = build_audit()
    doc = audit_dict(audit)
    md = to_markdown(audit)
    s = doc["summary"]
    assert f"{s['instances']} instances in {len(doc['targets'])} targets" in md
    table = dict(re.findall(r"^\| ([a-z-]+) \| (\d+) \|$", md, re.M))
    for key, n in {**s["by_state"], **s["by_severity"]}.items():
        assert table[key] == str(n)
    rows = [line for line in md.splitlines() if line.startswith("| 1") or line.startswith("| 2")]
    assert len(rows) == s["instances"]
    for inst in doc["instances"]:
        row = next(r for r in rows if f"| {inst['id']} |" in r)
        assert f"| {inst['state']} | {inst['severity']} |" in row
        assert f"| {'' if inst['days_left'] is None else inst['days_left']} |" in row
    assert XSS not in md and "&lt;script&gt;" not in md  # tags are not in the Markdown table
