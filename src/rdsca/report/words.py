"""Counted nouns, for the renderers: the helper lives in `rdsca.words` (the library's messages use it too)."""

from __future__ import annotations

from rdsca.words import count, plural

__all__ = ["count", "plural"]
