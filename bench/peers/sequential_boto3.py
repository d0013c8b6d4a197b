"""Peer (a): the straightforward boto3 script a platform engineer writes first.

One account after another, one region after another, no threads: paged describe_db_instances,
describe_certificates, paged describe_pending_maintenance_actions, and describe_db_engine_versions
once per distinct (engine, version) of the account-region. It assembles a full record per
instance (CA, CA expiry, server-certificate expiry, pending actions, rotation without restart) and
prints it as JSON, so its output carries the same facts as `rdsca audit --format json`.

    python sequential_boto3.py --endpoint-url URL --region R [--region R ...] \
        --base-account ID [--accounts ID,ID --role-name NAME] [--threads]

`--threads` runs the same per-target code with one thread per account-region (the second row of
the reference peer table); without it nothing runs concurrently.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3


def session_for(account: str | None, role_name: str | None, endpoint: str) -> boto3.session.Session:
    if account is None:
        return boto3.session.Session()
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role_name}", RoleSessionName="audit")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def audit_target(rds: Any, account: str, region: str) -> list[dict]:
    instances: list[dict[str, Any]] = []
    for page in rds.get_paginator("describe_db_instances").paginate(PaginationConfig={"PageSize": 100}):
        instances.extend(page["DBInstances"])
    cas = {c["CertificateIdentifier"]: c for c in rds.describe_certificates()["Certificates"]}
    pending: dict[str, list[dict]] = {}
    for page in rds.get_paginator("describe_pending_maintenance_actions").paginate():
        for res in page["PendingMaintenanceActions"]:
            pending.setdefault(res["ResourceIdentifier"], []).extend(res["PendingMaintenanceActionDetails"])
    engines: dict[tuple[str, str], dict] = {}
    for db in instances:
        key = (db["Engine"], db["EngineVersion"])
        if key not in engines:
            found = rds.describe_db_engine_versions(Engine=key[0], EngineVersion=key[1])["DBEngineVersions"]
            engines[key] = found[0] if found else {}
    out = []
    for db in instances:
        ca_id = db.get("CACertificateIdentifier")
        ca = cas.get(ca_id or "")
        engine = engines[(db["Engine"], db["EngineVersion"])]
        out.append(
            {
                "account_id": account,
                "region": region,
                "id": db["DBInstanceIdentifier"],
                "arn": db["DBInstanceArn"],
                "engine": db["Engine"],
                "engine_version": db["EngineVersion"],
                "ca": ca_id,
                "ca_listed": ca is not None,
                "ca_valid_till": str(ca["ValidTill"]) if ca else None,
                "server_cert_valid_till": str(db.get("CertificateDetails", {}).get("ValidTill", "")) or None,
                "pending_ca": db.get("PendingModifiedValues", {}).get("CACertificateIdentifier"),
                "pending_actions": [a.get("Action") for a in pending.get(db["DBInstanceArn"], [])],
                "rotation_without_restart": engine.get("SupportsCertificateRotationWithoutRestart"),
                "supported_cas": engine.get("SupportedCACertificateIdentifiers", []),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", action="append", required=True)
    parser.add_argument("--base-account", required=True, help="the account of the caller's credentials")
    parser.add_argument("--accounts", default="", help="accounts reached by assume-role, comma-separated")
    parser.add_argument("--role-name")
    parser.add_argument("--threads", action="store_true", help="one thread per account-region")
    args = parser.parse_args(argv)

    sessions = [(args.base_account, boto3.session.Session())]
    for account in filter(None, args.accounts.split(",")):
        sessions.append((account, session_for(account, args.role_name, args.endpoint_url)))
    jobs = [
        (s.client("rds", region_name=r, endpoint_url=args.endpoint_url), a, r)
        for a, s in sessions
        for r in args.region
    ]
    if args.threads:  # clients are built above: a boto3 session is not thread-safe, a client is
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            results = list(pool.map(lambda j: audit_target(*j), jobs))
    else:
        results = [audit_target(*j) for j in jobs]
    records = [rec for chunk in results for rec in chunk]
    json.dump({"instances": records}, sys.stdout, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
