"""A saved readiness result (`rdsca readiness --format json -o FILE`), read back for the plan and the
report."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rdsca import schemas
from rdsca.errors import ConfigError
from rdsca.files import JSON_LIMIT, read_text_input


def load_readiness(path: Path, flag: str = "--readiness") -> dict[str, Any]:
    """The document, checked enough to use it; a bad file is a clear error, not a traceback."""
    text = read_text_input(path, what=flag, limit=JSON_LIMIT)
    try:
        doc = json.loads(text)
    except RecursionError:
        raise ConfigError(f"{flag} {path}: not a readiness JSON file (nested too deeply)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{flag} {path}: not a readiness JSON file ({exc})") from None
    except ValueError:  # an integer of more than 4300 digits
        raise ConfigError(
            f"{flag} {path}: not a readiness JSON file (a number has thousands of digits)"
        ) from None
    if not isinstance(doc, dict) or doc.get("schema") != schemas.READINESS:
        raise ConfigError(
            f"{flag} {path}: expected schema {schemas.READINESS} (from `rdsca readiness -f json`)"
        )
    instances = doc.get("instances")
    if not isinstance(instances, list) or not all(isinstance(i, dict) for i in instances):
        raise ConfigError(f"{flag} {path}: no instances list")
    return doc


def not_ready(doc: dict[str, Any], keys: Iterable[str]) -> dict[str, str]:
    """For each instance key without a `ready` verdict in the document: why it is held back."""
    verdicts = {f"{i.get('account_id')}/{i.get('region')}/{i.get('id')}": i for i in doc["instances"]}
    out = {}
    for key in keys:
        found = verdicts.get(key)
        if found is None:
            out[key] = "clients not known to be ready: no readiness verdict for it"
        elif found.get("verdict") != "ready":
            why = "; ".join(str(r) for r in found.get("reasons") or []) or "no reason given"
            out[key] = f"clients not ready ({found.get('verdict')}): {why}"
    return out
