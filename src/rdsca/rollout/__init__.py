"""Staged CA rotation: a pure plan, an executor that drives AWS actions, a SQLite journal."""
