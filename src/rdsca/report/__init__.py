"""Render results: one renderer per format, each taking plain data."""

from __future__ import annotations
