"""A unified diff (`patch -p1` from the scanned root) that moves each pin to the target CA."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

from rdsca.iac.model import Edit


def constant(ca: str) -> str:
    """rds-ca-rsa2048-g1 -> RDS_CA_RSA2048_G1 (the CDK constant)."""
    return ca.upper().replace("-", "_")


def _apply(lines: list[str], edits: list[Edit], target_ca: str) -> list[str]:
    out = list(lines)
    # Bottom-up so that an inserted line does not move the lines of the edits still to do.
    for e in sorted(edits, key=lambda e: (e.line, e.old is None), reverse=True):
        new = e.new.replace("{ca}", target_ca).replace("{CONST}", constant(target_ca))
        index = e.line - 1
        if not 0 <= index < len(out):
            continue
        if e.old is None:
            ending = out[index][len(out[index].rstrip("\r\n")) :] or "\n"
            out.insert(index + 1, new + ending)
            continue
        text = out[index]
        at = text.find(e.old, e.column)
        if at < 0:
            at = text.find(e.old)
        if at >= 0:
            out[index] = text[:at] + new + text[at + len(e.old) :]
    return out


def unified_diff(root: Path, edits: Iterable[Edit], target_ca: str) -> str:
    by_file: dict[str, list[Edit]] = {}
    for e in dict.fromkeys(edits):  # one edit per place, however many pins share it
        by_file.setdefault(e.file, []).append(e)
    chunks: list[str] = []
    for rel in sorted(by_file):
        path = root / rel if root.is_dir() else root
        before = path.read_text(encoding="utf-8").splitlines(keepends=True)
        after = _apply(before, by_file[rel], target_ca)
        if after != before:
            if before and not before[-1].endswith("\n"):
                before[-1] += "\n\\ No newline at end of file\n"
                after[-1] += "\n\\ No newline at end of file\n" if not after[-1].endswith("\n") else ""
            chunks.append("".join(difflib.unified_diff(before, after, f"a/{rel}", f"b/{rel}")))
    return "".join(chunks)
