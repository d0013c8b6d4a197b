"""CDK and Pulumi programs in Python and TypeScript/JavaScript.

Python is read with the standard `ast` module: a real parser, so comments and docstrings never
count. No TypeScript parser exists for Python, so TypeScript/JavaScript gets a careful scanner
instead: comments are blanked and string contents masked first (a pin quoted in a comment or a
description is not a pin), then the property patterns are matched on what is left, and values are
read back from the original text at the same offsets.

CDK: `caCertificate: rds.CaCertificate.RDS_CA_2019` / `ca_certificate=rds.CaCertificate.RDS_CA_2019`,
`CaCertificate.of('rds-ca-2019')`, L1 `caCertificateIdentifier` / `ca_certificate_identifier`.
Pulumi: `caCertIdentifier` / `ca_cert_identifier` on aws.rds.Instance and aws.rds.ClusterInstance.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from rdsca.iac.model import Edit, Origin, Pin, Tool

MARKERS = ("CaCertificate", "caCertificateIdentifier", "ca_certificate_identifier", "caCertIdentifier",
           "ca_cert_identifier")  # fmt: skip


def constant_ca(name: str) -> str:
    """RDS_CA_RSA2048_G1 -> rds-ca-rsa2048-g1"""
    return name.lower().replace("_", "-")


@dataclass(frozen=True)
class _Hit:
    line: int
    column: int
    tool: Tool
    value: str | None
    origin: Origin
    edit_old: str | None
    edit_new: str
    note: str = ""


# -- Python ---------------------------------------------------------------------------------------


def _py_hit(kw: ast.keyword) -> _Hit | None:
    v = kw.value
    if kw.arg == "ca_certificate":
        if isinstance(v, ast.Attribute) and v.attr.startswith("RDS_CA_"):
            return _Hit(v.end_lineno or v.lineno, (v.end_col_offset or 0) - len(v.attr), Tool.CDK,
                        constant_ca(v.attr), Origin.CONSTANT, v.attr, "{CONST}")  # fmt: skip
        if isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "of":
            arg = v.args[0] if v.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                return _Hit(
                    arg.lineno, arg.col_offset, Tool.CDK, arg.value, Origin.LITERAL, arg.value, "{ca}"
                )
        return _Hit(v.lineno, v.col_offset, Tool.CDK, None, Origin.UNRESOLVED, None, "", ast.unparse(v))
    if kw.arg in ("ca_certificate_identifier", "ca_cert_identifier"):
        tool = Tool.CDK if kw.arg == "ca_certificate_identifier" else Tool.PULUMI
        if isinstance(v, ast.Constant) and isinstance(v.value, str):
            return _Hit(v.lineno, v.col_offset, tool, v.value, Origin.LITERAL, v.value, "{ca}")
        if isinstance(v, ast.Constant) and v.value is None:
            return None
        return _Hit(v.lineno, v.col_offset, tool, None, Origin.UNRESOLVED, None, "", ast.unparse(v))
    return None


def scan_python(rel: str, text: str) -> list[Pin]:
    tree = ast.parse(text, filename=rel)
    out: list[Pin] = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        kwargs = {k.arg: k.value for k in call.keywords if k.arg}
        ident = next((kwargs[k] for k in ("instance_identifier", "db_instance_identifier", "identifier")
                      if k in kwargs), None)  # fmt: skip
        ids = (ident.value,) if isinstance(ident, ast.Constant) and isinstance(ident.value, str) else ()
        name = next(
            (a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)), ""
        )
        for kw in call.keywords:
            hit = _py_hit(kw)
            if hit is not None:
                out.append(_pin(rel, hit, name or "?", ast.unparse(call.func), ids))
    return out


def _pin(rel: str, hit: _Hit, name: str, rtype: str, ids: tuple[str, ...]) -> Pin:
    edit = Edit(rel, hit.line, hit.edit_old, hit.edit_new, hit.column) if hit.edit_old else None
    return Pin(rel, hit.line, hit.tool, name, rtype, hit.value, hit.origin, instances=ids,
               instances_from="tree" if ids else "", value_edit=edit,
               note=f"expression {hit.note}" if hit.note else "")  # fmt: skip


# -- TypeScript / JavaScript ----------------------------------------------------------------------


def mask(text: str) -> str:
    """Comments become spaces and string contents `_`, offsets and newlines unchanged."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                out[i] = " "
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            for j in range(i, end):
                out[j] = text[j] if text[j] == "\n" else " "
            i = end
        elif ch in "'\"`":
            j = i + 1
            while j < n and text[j] != ch and not (ch != "`" and text[j] == "\n"):
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = text[k] if text[k] == "\n" else "_"
            i = j + 1
        else:
            i += 1
    return "".join(out)


_QUOTE = r"(?P<q>['\"`])"
_TS_PATTERNS = (
    (Tool.CDK, re.compile(r"\bcaCertificate\s*:\s*(?:[\w$]+\.)*CaCertificate\s*\.\s*(?P<const>RDS_CA_\w+)")),
    (Tool.CDK, re.compile(r"\bcaCertificate\s*:\s*(?:[\w$]+\.)*CaCertificate\s*\.\s*of\s*\(\s*" + _QUOTE)),
    (Tool.CDK, re.compile(r"\bcaCertificateIdentifier\s*:\s*" + _QUOTE)),
    (Tool.PULUMI, re.compile(r"\bcaCertIdentifier\s*:\s*(?:" + _QUOTE + r"|(?P<expr>[^,}\s][^,}\n]*))")),
)
_CONSTRUCT = re.compile(
    r"(?:\bnew\s+(?P<new>[\w$.]+)|(?P<factory>[\w$.]+\.(?:provisioned|serverlessV2)))\s*\("
)
_IDENT = re.compile(r"\b(?:instanceIdentifier|dbInstanceIdentifier|identifier)\s*:\s*" + _QUOTE)


def _string_at(text: str, start: int) -> str:
    """The string literal whose opening quote is at `start`."""
    quote, j = text[start], start + 1
    while j < len(text) and text[j] != quote:
        j += 2 if text[j] == "\\" else 1
    return text[start + 1 : j]


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1)


def scan_typescript(rel: str, text: str) -> list[Pin]:
    masked = mask(text)
    constructs = list(_CONSTRUCT.finditer(masked))
    out: list[Pin] = []
    for tool, pattern in _TS_PATTERNS:
        for m in pattern.finditer(masked):
            if m.groupdict().get("const"):
                start = m.start("const")
                value, origin, old, new, note = (
                    constant_ca(m["const"]),
                    Origin.CONSTANT,
                    m["const"],
                    "{CONST}",
                    "",
                )
            elif m.groupdict().get("q"):
                start = m.start("q") + 1
                value = _string_at(text, m.start("q"))
                origin, old, new, note = Origin.LITERAL, value, "{ca}", ""
            else:
                start = m.start("expr")
                value, origin, old, new = None, Origin.UNRESOLVED, None, ""
                note = text[m.start("expr") : m.end("expr")].strip()
            owner = next((c for c in reversed(constructs) if c.start() < m.start()), None)
            name, rtype, ids = "?", "?", tuple[str, ...]()
            if owner is not None:
                rtype = owner["new"] or owner["factory"]
                quote = re.compile(_QUOTE).search(masked, owner.end())
                name = _string_at(text, quote.start()) if quote else "?"
                following = next((c.start() for c in constructs if c.start() > owner.start()), len(text))
                ident = _IDENT.search(masked, owner.end(), following)
                ids = (_string_at(text, ident.start("q")),) if ident else ()
            line, column = _position(text, start)
            out.append(_pin(rel, _Hit(line, column, tool, value, origin, old, new, note), name, rtype, ids))
    return sorted(out, key=lambda p: p.line)
