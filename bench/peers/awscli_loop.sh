#!/usr/bin/env bash
# Peer (b): the blog-post way. For each account (the caller's own, then each one reached with
# `aws sts assume-role`) and each region: `aws rds describe-db-instances` listing each instance's
# CA, and `aws rds describe-certificates` listing the region's CAs. One `aws` process per call,
# as in the posts; the CLI follows the pagination itself.
#
# Inputs (environment): AWS (the aws executable), ENDPOINT, REGIONS (space-separated),
# ROLE_ACCOUNTS (space-separated), ROLE_NAME; credentials in the usual AWS_* variables.
# AWS CLI v1 ignores AWS_ENDPOINT_URL for `aws rds` in us-east-1, hence --endpoint-url everywhere.
set -euo pipefail

audit_account() {
  local account=$1 region
  for region in $REGIONS; do
    "$AWS" rds describe-db-instances --endpoint-url "$ENDPOINT" --region "$region" \
      --query 'DBInstances[*].[DBInstanceIdentifier,Engine,CACertificateIdentifier]' --output text |
      sed "s/^/$account\t$region\t/"
    "$AWS" rds describe-certificates --endpoint-url "$ENDPOINT" --region "$region" \
      --query 'Certificates[*].[CertificateIdentifier,ValidTill]' --output text |
      sed "s/^/$account\t$region\tCA\t/"
  done
}

audit_account self

for account in $ROLE_ACCOUNTS; do
  read -r key secret token < <(
    "$AWS" sts assume-role --endpoint-url "$ENDPOINT" --region us-east-1 \
      --role-arn "arn:aws:iam::${account}:role/${ROLE_NAME}" --role-session-name audit \
      --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text
  )
  (
    export AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret AWS_SESSION_TOKEN=$token
    audit_account "$account"
  )
done
