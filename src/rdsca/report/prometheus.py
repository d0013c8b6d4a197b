"""The audit as a Prometheus textfile, for node_exporter's textfile collector.

Write it with `-o /var/lib/node_exporter/textfile/rdsca.prom`: the file is replaced atomically, as
the collector requires. Every gauge carries account, region and instance labels so that alerts can
name the database.
"""

from __future__ import annotations

from rdsca.model import Audit, State

METRICS: tuple[tuple[str, str], ...] = (
    (
        "rdsca_certificate_expiry_timestamp_seconds",
        "When the instance's CA (kind=ca) or server certificate (kind=server) stops being valid, Unix time.",
    ),
    ("rdsca_days_left", "Whole days until the instance's earliest certificate expiry (negative: expired)."),
    ("rdsca_instance_state", "1 for the instance's current rdsca state, 0 for the other states."),
    ("rdsca_target_up", "1 when rdsca could read this account x region, 0 when it failed."),
    ("rdsca_audit_timestamp_seconds", "When the audit was taken, Unix time."),
    ("rdsca_warn_days", "The warning horizon the states were computed with, in days."),
)


def _escape(value: object) -> str:
    """A label value as the exposition format wants it: backslash, quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: object) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _samples(audit: Audit) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {name: [] for name, _ in METRICS}
    for v in sorted(audit.verdicts, key=lambda v: v.instance.key):
        i = v.instance
        who = {"account": i.account_id, "region": i.region, "instance": i.id}
        for kind, when in (("ca", v.ca_valid_till), ("server", i.server_cert_valid_till)):
            if when is not None:
                out["rdsca_certificate_expiry_timestamp_seconds"].append(
                    f"{_labels(**who, kind=kind)} {int(when.timestamp())}"
                )
        if v.days_left is not None:
            out["rdsca_days_left"].append(f"{_labels(**who)} {v.days_left}")
        for state in State:
            out["rdsca_instance_state"].append(
                f"{_labels(**who, state=state.value)} {1 if state is v.state else 0}"
            )
    for t in sorted(audit.fleet.targets, key=lambda t: t.target.key):
        labels = _labels(account=t.target.account_id, region=t.target.region)
        out["rdsca_target_up"].append(f"{labels} {1 if t.ok else 0}")
    out["rdsca_audit_timestamp_seconds"].append(f" {int(audit.generated_at.timestamp())}")
    out["rdsca_warn_days"].append(f" {audit.warn_days}")
    return out


def to_prometheus(audit: Audit) -> str:
    samples = _samples(audit)
    lines: list[str] = []
    for name, help_text in METRICS:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [name + sample for sample in samples[name]]
    return "\n".join(lines) + "\n"
