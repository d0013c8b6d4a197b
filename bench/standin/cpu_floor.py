"""The client CPU a call costs at least with botocore: the floor under any boto3-based audit.

    python cpu_floor.py URL ACCOUNT REGION      (prints JSON: ms per small call, per instance)

One client, one thread, no verdicts: `DescribeCertificates` repeated (a small answer: what a call
costs in botocore alone, signing, sending, parsing) and `DescribeDBInstances` pages of 100 (what
parsing an instance adds). The stand-in must be running with no latency for a clean reading.
"""

from __future__ import annotations

import json
import sys
import time

import boto3

SMALL = 400
PAGES = 30


def main() -> int:
    url, account, region = sys.argv[1:4]
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=url)
    role = f"arn:aws:iam::{account}:role/floor"
    creds = sts.assume_role(RoleArn=role, RoleSessionName="floor")["Credentials"]
    rds = boto3.client(
        "rds",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    rds.describe_certificates()
    started = time.process_time()
    for _ in range(SMALL):
        rds.describe_certificates()
    per_call = (time.process_time() - started) / SMALL
    started = time.process_time()
    seen = 0
    for _ in range(PAGES):
        seen += len(rds.describe_db_instances(MaxRecords=100)["DBInstances"])
    per_page = (time.process_time() - started) / PAGES
    per_instance = max(0.0, per_page - per_call) / max(1, seen // PAGES)
    json.dump({"ms_per_call": per_call * 1000, "ms_per_instance": per_instance * 1000}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
