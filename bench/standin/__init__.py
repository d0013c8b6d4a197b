"""A light stand-in for AWS at organization scale: pre-rendered answers, latency and throttling.

`fleet` draws the seeded organization (accounts, regions, instances) and renders every answer once;
`server` serves them over HTTP from one asyncio process (the wire protocols botocore speaks: query
XML for RDS, STS and EC2, JSON 1.1 for Organizations); `handle` starts it in its own process and
reads its counters. Used by bench/bench_org_audit.py and by tests/test_audit_scale.py.
"""
