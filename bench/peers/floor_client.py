"""The floor (d): the least a client can do to collect the same facts as `rdsca audit`.

The fewest calls, all as concurrent as their dependencies allow: the roles are assumed in
parallel; per account-region the first page of describe_db_instances, describe_certificates and
describe_pending_maintenance_actions start together; page 2 follows page 1 (it needs its Marker);
describe_db_engine_versions is asked once per (region, engine, version), shared by the accounts of
a region, as soon as a page names it. No verdicts, no rendering: it prints the raw facts per
instance as JSON. At 0 ms of injected latency its wall time is what the stand-in's own CPU (plus
boto3's parsing) costs, which no client can beat on this machine; at higher latencies it shows
what a client that hides latency perfectly achieves.

    python floor_client.py --endpoint-url URL --region R [...] --base-account ID \
        [--accounts ID,ID --role-name NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3

POOL = ThreadPoolExecutor(max_workers=64)
_lock = threading.Lock()
_engines: dict[tuple[str, str, str], Future[dict]] = {}


def engine_future(rds: Any, region: str, engine: str, version: str) -> Future[dict]:
    key = (region, engine, version)
    with _lock:
        if key not in _engines:
            _engines[key] = POOL.submit(_engine, rds, engine, version)
        return _engines[key]


def _engine(rds: Any, engine: str, version: str) -> dict:
    found = rds.describe_db_engine_versions(Engine=engine, EngineVersion=version)["DBEngineVersions"]
    return found[0] if found else {}


def instances(rds: Any, region: str) -> list[dict]:
    dbs: list[dict] = []
    kwargs: dict[str, Any] = {"MaxRecords": 100}
    while True:
        page = rds.describe_db_instances(**kwargs)
        for db in page["DBInstances"]:
            engine_future(rds, region, db["Engine"], db["EngineVersion"])  # starts it at once
        dbs.extend(page["DBInstances"])
        if not page.get("Marker"):
            return dbs
        kwargs["Marker"] = page["Marker"]


def certificates(rds: Any) -> dict[str, Any]:
    return {c["CertificateIdentifier"]: c["ValidTill"] for c in rds.describe_certificates()["Certificates"]}


def pending(rds: Any) -> dict[str, list[str]]:
    out = {}
    for res in rds.describe_pending_maintenance_actions()["PendingMaintenanceActions"]:
        out[res["ResourceIdentifier"]] = [a["Action"] for a in res["PendingMaintenanceActionDetails"]]
    return out


def start_account(args: argparse.Namespace, account: str) -> list[tuple[str, str, list[Future]]]:
    """Reach the account, then start its regions' calls; returns their futures."""
    creds: dict[str, str] = {}
    if account != args.base_account:
        sts = boto3.session.Session().client("sts", region_name="us-east-1", endpoint_url=args.endpoint_url)
        arn = f"arn:aws:iam::{account}:role/{args.role_name}"
        c = sts.assume_role(RoleArn=arn, RoleSessionName="floor")["Credentials"]
        creds = {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }
    session = boto3.session.Session(**creds)  # one per account; clients are built in this thread
    out = []
    for region in args.region:
        rds = session.client("rds", region_name=region, endpoint_url=args.endpoint_url)
        calls = [
            POOL.submit(instances, rds, region),
            POOL.submit(certificates, rds),
            POOL.submit(pending, rds),
        ]
        out.append((account, region, calls))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", action="append", required=True)
    parser.add_argument("--base-account", required=True)
    parser.add_argument("--accounts", default="")
    parser.add_argument("--role-name")
    args = parser.parse_args(argv)
    accounts = [args.base_account, *(a for a in args.accounts.split(",") if a)]
    started = [POOL.submit(start_account, args, a) for a in accounts]
    records = []
    for account_future in started:
        for account, region, (dbs_f, cas_f, pending_f) in account_future.result():
            cas, actions = cas_f.result(), pending_f.result()
            for db in dbs_f.result():
                eng = _engines[(region, db["Engine"], db["EngineVersion"])].result()
                ca = db.get("CACertificateIdentifier")
                records.append(
                    {
                        "account": account,
                        "region": region,
                        "arn": db["DBInstanceArn"],
                        "ca": ca,
                        "ca_valid_till": cas.get(ca or ""),
                        "cert_valid_till": db.get("CertificateDetails", {}).get("ValidTill"),
                        "pending": actions.get(db["DBInstanceArn"], []),
                        "no_restart": eng.get("SupportsCertificateRotationWithoutRestart"),
                    }
                )
    POOL.shutdown()
    json.dump({"instances": records}, sys.stdout, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
