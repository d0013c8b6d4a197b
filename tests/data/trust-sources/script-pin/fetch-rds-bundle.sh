#!/usr/bin/env bash
# Fetch the RDS trust bundle into the release directory and check it has not changed.
set -euo pipefail

dest="${1:-release/certs}"
mkdir -p "$dest"
curl -fsSL -o "$dest/global-bundle.pem" https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
echo "2eb7deebc87eeef8117eddb3894a747c5e4736a684ef84b19082b0b04ef252f0  $dest/global-bundle.pem" | sha256sum -c -
