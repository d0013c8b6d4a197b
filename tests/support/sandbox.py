"""Helpers for tests that talk to a running sandbox (test code: not in the installed package)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from rdsca.sandbox import demo
from rdsca.sandbox.control import SandboxControl
from rdsca.sandbox.environment import DUMMY_KEY, environment


@dataclass(frozen=True)
class SandboxHandle:
    """A sandbox's URL and control client, and boto3 clients pointed at it."""

    url: str
    control: SandboxControl

    @classmethod
    def connect(cls, url: str) -> SandboxHandle:
        return cls(url, SandboxControl(url))

    def env(self) -> dict[str, str]:
        return environment(self.url)

    def credentials(self, account: str | None = None) -> dict[str, str]:
        """Dummy keys (moto's default account), or keys of `rdsca-audit` assumed in `account`."""
        if account is None:
            return {"aws_access_key_id": DUMMY_KEY, "aws_secret_access_key": DUMMY_KEY}
        sts = self.client("sts")
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{demo.ROLE_NAME}", RoleSessionName="rdsca-test"
        )["Credentials"]
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

    def client(
        self,
        service: str = "rds",
        region: str = "us-east-1",
        account: str | None = None,
        retry_mode: str = "standard",
        max_attempts: int = 1,
    ) -> Any:
        """A boto3 client; by default without retries, so that a test sees each answer."""
        config = Config(retries={"mode": retry_mode, "total_max_attempts": max_attempts})
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            config=config,
            **self.credentials(account),
        )
