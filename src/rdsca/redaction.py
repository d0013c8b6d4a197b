"""The secret values of this process that must never be printed: one registry for every layer.

`rdsca.aws.session` registers the keys of every role it assumes, the CLI registers the secrets of
the environment and the passwords users give it; `rdsca.cli.logs` masks every registered value
(and its percent-encoded forms) wherever it appears in a log record, a traceback included.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
MIN_LITERAL = 8  # shorter values are left to the patterns: replacing "abc" everywhere garbles logs

_lock = threading.Lock()
_known: set[str] = set()
_ordered: tuple[str, ...] = ()  # _known, longest first


def register_secret(value: str | None) -> None:
    """Mask `value` (and its percent-encoded forms) wherever it appears in a log record."""
    global _ordered
    if not value or len(value) < MIN_LITERAL or value == MASK:
        return
    forms = {value, quote(value, safe=""), quote_plus(value, safe=""), unquote(value)}
    forms = {f for f in forms if len(f) >= MIN_LITERAL}
    with _lock:
        if forms <= _known:
            return
        _known.update(forms)
        _ordered = tuple(sorted(_known, key=len, reverse=True))


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        register_secret(value)


def register_credentials(credentials: Mapping[str, Any] | None) -> None:
    """An STS `Credentials` dict (AssumeRole's answer): its secret key and session token."""
    if credentials:
        register_secrets(str(credentials.get(k) or "") for k in ("SecretAccessKey", "SessionToken"))


def known_secrets() -> tuple[str, ...]:
    """Every registered value and form, longest first (so a longer one is masked whole)."""
    return _ordered
