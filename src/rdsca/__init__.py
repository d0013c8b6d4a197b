"""rdsca: take an AWS estate safely through an RDS certificate-authority change."""

from __future__ import annotations

__version__ = "0.1.0"
