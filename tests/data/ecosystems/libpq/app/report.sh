#!/bin/sh
# Nightly report: libpq finds the CA in ~/.postgresql/root.crt
set -eu
psql "host=$PGHOST dbname=reports sslmode=verify-ca" -c "select count(*) from orders"
psql "host=$PGHOST dbname=reports sslmode=require" -c "select count(*) from refunds"
