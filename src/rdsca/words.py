"""Counted nouns for every message and table: "1 instance", "2 instances", never "1 instances".

Pure, importing nothing of rdsca: the library's messages and the renderers (through
`rdsca.report.words`) share it.
"""

from __future__ import annotations

from collections.abc import Sized

# Nouns whose plural is not the noun + "s".
_IRREGULAR = {"was": "were", "is": "are", "has": "have", "this": "these", "entry": "entries",
              "policy": "policies", "its": "their"}  # fmt: skip


def plural(n: int, noun: str) -> str:
    """`noun` as it goes with `n`: plural(2, "instance") is "instances"."""
    if n == 1:
        return noun
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith(("s", "x", "sh", "ch")):
        return noun + "es"
    return noun + "s"


def count(n: int | Sized, noun: str) -> str:
    """ "1 instance", "3 instances"; `n` may be a number or a collection (its length)."""
    number = n if isinstance(n, int) else len(n)
    return f"{number} {plural(number, noun)}"
