"""Everything that talks to AWS. The only package that imports boto3."""

from __future__ import annotations
