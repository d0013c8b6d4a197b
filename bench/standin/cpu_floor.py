"""The client CPU a call costs at least with botocore: the floor under any boto3-based audit.

    python cpu_floor.py URL ACCOUNT REGION [SERVER_PID]   (prints JSON: ms per small call, per instance)

One client, one thread, no verdicts: `DescribeCertificates` repeated (a small answer: what a call
costs in botocore alone, signing, sending, parsing) and `DescribeDBInstances` pages of 100 (what
parsing an instance adds). The stand-in must be running with no latency for a clean reading. With
the stand-in's process id, the CPU it spent answering is read too (`server_ms_per_call`,
`server_ms_per_instance`): on this machine the stand-in runs on the same cores as the client, so
what it spends on the fewest calls is part of the least wall time any client can have here.
"""

from __future__ import annotations

import json
import sys
import time

import boto3
from handle import cpu_seconds

SMALL = 400
PAGES = 30


def main() -> int:
    url, account, region = sys.argv[1:4]
    server = int(sys.argv[4]) if len(sys.argv) > 4 else None

    def server_cpu() -> float:
        return cpu_seconds(server) if server is not None else 0.0

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
    started, served = time.process_time(), server_cpu()
    for _ in range(SMALL):
        rds.describe_certificates()
    per_call = (time.process_time() - started) / SMALL
    server_per_call = (server_cpu() - served) / SMALL
    started, served = time.process_time(), server_cpu()
    seen = 0
    for _ in range(PAGES):
        seen += len(rds.describe_db_instances(MaxRecords=100)["DBInstances"])
    per_page = (time.process_time() - started) / PAGES
    server_per_page = (server_cpu() - served) / PAGES
    per_instance = max(0.0, per_page - per_call) / max(1, seen // PAGES)
    server_per_instance = max(0.0, server_per_page - server_per_call) / max(1, seen // PAGES)
    json.dump(
        {
            "ms_per_call": per_call * 1000,
            "ms_per_instance": per_instance * 1000,
            "server_ms_per_call": server_per_call * 1000,
            "server_ms_per_instance": server_per_instance * 1000,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
