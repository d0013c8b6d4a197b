"""The one region the AWS CLI would use, for the commands that change a single region."""

from __future__ import annotations

import os

import boto3
import botocore.exceptions as bce

from rdsca.errors import ConfigError


def configured_region(profile: str | None = None) -> str | None:
    """AWS_REGION, else AWS_DEFAULT_REGION, else the profile's `region`; None when none is set.

    The order is the AWS CLI's ("Environment variables to configure the AWS CLI", AWS CLI v2 User
    Guide, https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html: AWS_REGION
    overrides AWS_DEFAULT_REGION and the profile setting). botocore itself reads only
    AWS_DEFAULT_REGION and the profile, so AWS_REGION is looked at here first.
    """
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    try:
        return boto3.session.Session(profile_name=profile).region_name or None
    except bce.ProfileNotFound as exc:
        raise ConfigError(f"AWS profile {profile!r} not found in your AWS config") from exc
