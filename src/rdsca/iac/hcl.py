"""HCL through the real parser (python-hcl2), made independent of its output style.

python-hcl2 4.x-6.x returns a string literal bare (`rds-ca-2019`) and 7.x+ keeps its quotes
(`"rds-ca-2019"`); both return an expression as `${var.x}` and labels quoted or not. `Expr`
reads either. The parser gives no line numbers for attributes, so `Source` finds the line of an
attribute the parser found: the block header, then the attribute at depth one inside it, skipping
comments and strings (a small search for a line number, not a parse).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hcl2


def load(text: str) -> dict[str, Any]:
    """Parse HCL; raises ValueError (with the parser's message) for a file it refuses."""
    try:
        return dict(hcl2.loads(text))
    except Exception as exc:  # lark's UnexpectedInput and friends; no common public base
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(first) from exc


def label(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def blocks(doc: dict[str, Any], kind: str) -> Iterator[dict[str, Any]]:
    """The bodies of `kind` blocks (`locals`, `terraform`) in parsed HCL."""
    for entry in doc.get(kind, []):
        if isinstance(entry, dict):
            yield entry


def labelled(doc: dict[str, Any], kind: str, depth: int) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(labels, body) of each `kind` block with `depth` labels: resource (2), module/variable (1)."""

    def walk(node: Any, labels: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
        if not isinstance(node, dict):
            return
        if len(labels) == depth:
            yield labels, node
            return
        for key, value in node.items():
            if not key.startswith("__"):
                yield from walk(value, (*labels, label(key)))

    for entry in doc.get(kind, []):
        yield from walk(entry, ())


def attributes(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if not k.startswith("__")}


@dataclass(frozen=True)
class Expr:
    """An attribute value as the parser returned it."""

    raw: Any

    @property
    def literal(self) -> str | None:
        """The string, when the value is a plain string without interpolation."""
        raw = self.raw
        if not isinstance(raw, str):
            return None
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1]
        elif raw.startswith("${") and raw.endswith("}"):
            return None
        return None if "${" in raw else raw

    @property
    def reference(self) -> tuple[str, str] | None:
        """("var", "name") or ("local", "name") for a bare `var.name` / `local.name`."""
        text = self.text
        head, dot, name = text.partition(".")
        if dot and head in ("var", "local") and name.replace("_", "").replace("-", "").isalnum():
            return head, name
        return None

    @property
    def is_null(self) -> bool:
        return self.raw is None or self.text == "null"

    @property
    def text(self) -> str:
        """The expression as written, without the parser's `${...}` wrapper."""
        raw = self.raw
        if isinstance(raw, str) and raw.startswith("${") and raw.endswith("}") and raw.count("${") == 1:
            return raw[2:-1].strip()
        return str(raw)


def _code_lines(text: str) -> list[tuple[int, str, int]]:
    """(line number, code without comments/string contents, brace depth at line start)."""
    out: list[tuple[int, str, int]] = []
    depth, in_block_comment = 0, False
    for number, line in enumerate(text.splitlines(), 1):
        code, i, quote = [], 0, False
        start_depth = depth
        while i < len(line):
            ch = line[i]
            if in_block_comment:
                if line.startswith("*/", i):
                    in_block_comment, i = False, i + 2
                    continue
            elif quote:
                if ch == "\\":
                    i += 2
                    continue
                if ch == '"':
                    quote = False
                    code.append('"')
            elif ch == '"':
                quote = True
                code.append('"')
            elif ch == "#" or line.startswith("//", i):
                break
            elif line.startswith("/*", i):
                in_block_comment, i = True, i + 2
                continue
            else:
                code.append(ch)
                depth += {"{": 1, "}": -1}.get(ch, 0)
            i += 1
        out.append((number, "".join(code), start_depth))
    return out


class Source:
    """Line numbers of what the parser found in one file."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self._code = _code_lines(text)

    def block(self, kind: str, *labels: str, occurrence: int = 0) -> int | None:
        """The line of the `occurrence`-th top-level `kind "label" ... {` header."""
        seen = 0
        for number, _code, depth in self._code:
            if depth != 0:
                continue
            words = self.lines[number - 1].replace("{", " { ").split()
            want = [kind, *(f'"{lab}"' for lab in labels)]
            if words[: len(want)] == want or words[: len(want)] == [kind, *labels]:
                if seen == occurrence:
                    return number
                seen += 1
        return None

    def attribute(self, name: str, after: int | None) -> int | None:
        """The line of `name = ...` directly inside the top-level block whose header is on line
        `after`, or at the top level of the file when `after` is None (tfvars)."""
        want = 0 if after is None else 1
        for number, code, depth in self._code:
            if after is not None:
                if number <= after:
                    continue
                if depth < 1:
                    return None  # left the block
            if depth == want and "=" in code and code.split("=", 1)[0].strip() == name:
                return number
        return None

    def block_end(self, start: int) -> int | None:
        for number, _code, depth in self._code:
            if number > start and depth == 0:
                return number - 1
        return None

    def indent_of(self, line: int) -> str:
        text = self.lines[line - 1]
        return text[: len(text) - len(text.lstrip())]
