"""Terraform: `ca_cert_identifier` on RDS/DocumentDB instances and module calls, resolved through
variables, tfvars, locals and local modules; public modules whose default pinned a CA.

Each directory of .tf files is a module. A directory that another one calls with a local `source`
is scanned once per call, with that call's inputs; the others are root modules, where tfvars apply.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rdsca.iac import hcl, modules
from rdsca.iac.hcl import Expr, Source
from rdsca.iac.model import Edit, Origin, Pin, ScanError, Tool

RESOURCE_TYPES = ("aws_db_instance", "aws_rds_cluster_instance", "aws_docdb_cluster_instance")
ATTR = "ca_cert_identifier"
MAX_DEPTH = 12  # references followed before giving up (a local that refers to itself)


@dataclass
class TfFile:
    path: str  # relative to the scanned root
    doc: dict[str, Any]
    src: Source


@dataclass
class Dir:
    path: str
    files: list[TfFile] = field(default_factory=list)
    tfvars: list[TfFile] = field(default_factory=list)
    locks: dict[str, str] = field(default_factory=dict)  # .terraform/modules/modules.json: key -> version


@dataclass(frozen=True)
class Resolved:
    value: str | None
    origin: Origin
    detail: str
    edit: Edit | None
    note: str = ""


@dataclass(frozen=True)
class Ctx:
    dir: Dir
    prefix: str = ""  # "module.app." inside a local module
    inputs: dict[str, tuple[Expr, int, TfFile]] | None = None  # the call's arguments (None: root)
    caller: Ctx | None = None
    call: str = ""  # "module.app (main.tf:3)"
    lock_key: str = ""  # the call path modules.json uses: "app", "app.db"
    locks: dict[str, str] = field(default_factory=dict)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _is_auto(tfvars: TfFile) -> bool:
    name = posixpath.basename(tfvars.path)
    return name == "terraform.tfvars" or name.endswith(".auto.tfvars")


class Resolver:
    """Follows `var.x` and `local.x` to where their value is written."""

    def resolve(self, ctx: Ctx, expr: Expr, file: TfFile, line: int, depth: int = 0) -> list[Resolved]:
        if expr.is_null:
            return []  # unset: AWS keeps whatever the instance has
        literal = expr.literal
        if literal is not None:
            return [Resolved(literal, Origin.LITERAL, "", Edit(file.path, line, f'"{literal}"', '"{ca}"'))]
        ref = expr.reference
        if ref is not None and depth < MAX_DEPTH:
            kind, name = ref
            if kind == "var":
                return self.variable(ctx, name, depth + 1)
            return self.local(ctx, name, depth + 1)
        text = expr.text
        if text.startswith(("aws_", "data.", "module.")):
            return [Resolved(None, Origin.COMPUTED, "", None, f"from {text}")]
        return [Resolved(None, Origin.UNRESOLVED, "", None, f"expression {text}")]

    def variable(self, ctx: Ctx, name: str, depth: int) -> list[Resolved]:
        if ctx.inputs is not None and ctx.caller is not None and name in ctx.inputs:
            expr, line, file = ctx.inputs[name]
            found = self.resolve(ctx.caller, expr, file, line, depth)
            return [replace(r, detail=_join(f"var.{name} set by {ctx.call}", r.detail)) for r in found]
        out: list[Resolved] = []
        if ctx.inputs is None:  # tfvars apply to root modules only
            auto = [r for f in ctx.dir.tfvars if _is_auto(f) for r in self._tfvars(f, name)]
            if auto:
                return auto[-1:]  # terraform.tfvars, then *.auto.tfvars in name order: the last wins
            out += [r for f in ctx.dir.tfvars if not _is_auto(f) for r in self._tfvars(f, name)]
        default = self._default(ctx, name, depth)
        if default is None and not out:
            note = f"var.{name} has no default: set at apply time"
            return [Resolved(None, Origin.UNRESOLVED, f"var.{name}", None, note)]
        return out + (default or [])

    def _tfvars(self, file: TfFile, name: str) -> list[Resolved]:
        if name not in file.doc:
            return []
        line = file.src.attribute(name, None) or 1
        value = Expr(file.doc[name]).literal
        edit = Edit(file.path, line, f'"{value}"', '"{ca}"') if value is not None else None
        return [Resolved(value, Origin.TFVARS, f"{file.path}:{line} {name}", edit)]

    def _default(self, ctx: Ctx, name: str, depth: int) -> list[Resolved] | None:
        for file in ctx.dir.files:
            for (vname,), body in hcl.labelled(file.doc, "variable", 1):
                if vname != name or "default" not in body:
                    continue
                start = file.src.block("variable", name) or 1
                line = file.src.attribute("default", start) or start
                found = self.resolve(Ctx(ctx.dir, locks=ctx.locks), Expr(body["default"]), file, line, depth)
                where = f"{file.path}:{line} var.{name}"
                return [
                    replace(r, origin=Origin.VARIABLE_DEFAULT, detail=where)
                    if r.origin is Origin.LITERAL
                    else r
                    for r in found
                ]
        return None

    def local(self, ctx: Ctx, name: str, depth: int) -> list[Resolved]:
        for file in ctx.dir.files:
            for index, body in enumerate(hcl.blocks(file.doc, "locals")):
                if name not in body:
                    continue
                start = file.src.block("locals", occurrence=index)
                line = (file.src.attribute(name, start) if start else None) or start or 1
                found = self.resolve(ctx, Expr(body[name]), file, line, depth)
                where = f"{file.path}:{line} local.{name}"
                return [
                    replace(r, origin=Origin.LOCAL, detail=where)
                    if r.origin is Origin.LITERAL
                    else replace(r, detail=_join(where, r.detail))
                    for r in found
                ]
        return [Resolved(None, Origin.UNRESOLVED, "", None, f"local.{name} not found")]


def _repeat(attrs: dict[str, Any]) -> str:
    for meta in ("count", "for_each"):
        if meta in attrs:
            return f"{meta} = {Expr(attrs[meta]).text}"
    return ""


class Scanner:
    def __init__(self, dirs: dict[str, Dir]) -> None:
        self.dirs = dirs
        self.resolver = Resolver()

    def local_child(self, ctx: Ctx, source: str) -> Dir | None:
        if not source.startswith(("./", "../")):
            return None
        path = posixpath.normpath(posixpath.join(ctx.dir.path or ".", source))
        if path.startswith(".."):
            return None  # outside the scanned tree
        return self.dirs.get("" if path == "." else path)

    def called(self) -> set[str]:
        out: set[str] = set()
        for d in self.dirs.values():
            for f in d.files:
                for _labels, body in hcl.labelled(f.doc, "module", 1):
                    child = self.local_child(Ctx(d), Expr(body.get("source")).literal or "")
                    if child is not None:
                        out.add(child.path)
        return out

    def scan(self) -> list[Pin]:
        called = self.called()
        pins: list[Pin] = []
        for path in sorted(self.dirs):
            if path not in called:
                d = self.dirs[path]
                pins += self.scan_dir(Ctx(d, locks=d.locks), 0)
        return pins

    def scan_dir(self, ctx: Ctx, depth: int) -> list[Pin]:
        pins: list[Pin] = []
        for file in ctx.dir.files:
            for (rtype, rname), body in hcl.labelled(file.doc, "resource", 2):
                if rtype in RESOURCE_TYPES and ATTR in body:
                    pins += self.resource(ctx, file, rtype, rname, hcl.attributes(body))
            for (mname,), body in hcl.labelled(file.doc, "module", 1):
                pins += self.module(ctx, file, mname, hcl.attributes(body), depth)
        return pins

    def _instances(self, ctx: Ctx, file: TfFile, attrs: dict[str, Any], line: int) -> tuple[str, ...]:
        if "identifier" not in attrs:
            return ()
        found = self.resolver.resolve(ctx, Expr(attrs["identifier"]), file, line)
        return tuple(r.value for r in found if r.value is not None)

    def resource(self, ctx: Ctx, file: TfFile, rtype: str, rname: str, attrs: dict[str, Any]) -> list[Pin]:
        start = file.src.block("resource", rtype, rname) or 1
        line = file.src.attribute(ATTR, start) or start
        ids = self._instances(ctx, file, attrs, start)
        base = Pin(file.path, line, Tool.TERRAFORM, f"{ctx.prefix}{rtype}.{rname}", rtype, None,
                   Origin.UNRESOLVED, instances=ids, instances_from="tree" if ids else "",
                   repeat=_repeat(attrs))  # fmt: skip
        return [self._pin(base, r) for r in self.resolver.resolve(ctx, Expr(attrs[ATTR]), file, line)]

    @staticmethod
    def _pin(base: Pin, r: Resolved) -> Pin:
        return replace(base, value=r.value, origin=r.origin, origin_detail=r.detail, value_edit=r.edit,
                       note=r.note)  # fmt: skip

    def module(self, ctx: Ctx, file: TfFile, name: str, attrs: dict[str, Any], depth: int) -> list[Pin]:
        source = Expr(attrs.get("source")).literal or ""
        start = file.src.block("module", name) or 1
        lock_key = f"{ctx.lock_key}.{name}" if ctx.lock_key else name
        child = self.local_child(ctx, source)
        if child is not None:
            if depth >= MAX_DEPTH:
                return []
            inputs = {k: (Expr(v), file.src.attribute(k, start) or start, file) for k, v in attrs.items()}
            call = f"module.{name} ({file.path}:{start})"
            sub = Ctx(child, f"{ctx.prefix}module.{name}.", inputs, ctx, call, lock_key, ctx.locks)
            return self.scan_dir(sub, depth + 1)
        address = f"{ctx.prefix}module.{name}"
        ids = self._instances(ctx, file, attrs, start)
        base = Pin(file.path, start, Tool.TERRAFORM, address, f"module {source}", None, Origin.UNRESOLVED,
                   instances=ids, instances_from="tree" if ids else "", repeat=_repeat(attrs))  # fmt: skip
        if ATTR in attrs:
            line = file.src.attribute(ATTR, start) or start
            found = self.resolver.resolve(ctx, Expr(attrs[ATTR]), file, line)
            return [self._pin(replace(base, line=line), r) for r in found]
        return self.module_default(ctx, file, base, source, attrs, start, lock_key)

    def module_default(
        self, ctx: Ctx, file: TfFile, base: Pin, source: str, attrs: dict[str, Any], start: int, key: str
    ) -> list[Pin]:
        known = modules.identify(source)
        if known is None:
            return []
        module, ref = known
        locked = ctx.locks.get(key)
        constraint = locked or ref or Expr(attrs.get("version")).literal
        if not constraint:
            return []  # no version: the newest release, which pins nothing
        pinned = modules.pins(module, constraint)
        if pinned is None:
            return []
        anchor = file.src.attribute("version", start) or file.src.attribute("source", start) or start
        indent = file.src.indent_of(anchor)
        shown = f"{source} {constraint}" + (" (.terraform/modules/modules.json)" if locked else "")
        note = "" if pinned == "yes" else (
            f"the constraint also allows releases from {modules.show(module.until)} on, which pin nothing"
        )  # fmt: skip
        return [
            replace(base, value=module.value, origin=Origin.MODULE_DEFAULT, origin_detail=shown, note=note,
                    value_edit=Edit(file.path, anchor, None, f'{indent}{ATTR} = "{{ca}}"'), module=shown)
        ]  # fmt: skip


def _locks(root: Path, rel: str) -> dict[str, str]:
    path = root / rel / ".terraform" / "modules" / "modules.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {m["Key"]: m["Version"] for m in doc.get("Modules", []) if m.get("Key") and m.get("Version")}


def scan(
    root: Path, tf_files: Iterable[str], tfvars_files: Iterable[str]
) -> tuple[list[Pin], list[ScanError]]:
    """Pins in the .tf files (relative paths under `root`) with the tfvars that feed them."""
    dirs: dict[str, Dir] = {}
    errors: list[ScanError] = []

    def parse(rel: str) -> TfFile | None:
        try:
            text = (root / rel).read_text(encoding="utf-8")
            return TfFile(rel, hcl.load(text), Source(text))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            errors.append(ScanError(rel, f"not read as HCL: {exc}"))
            return None

    for rel in sorted(tf_files):
        parsed = parse(rel)
        if parsed is not None:
            d = posixpath.dirname(rel)
            dirs.setdefault(d, Dir(d, locks=_locks(root, d))).files.append(parsed)
    for rel in sorted(tfvars_files):
        owner = posixpath.dirname(rel)
        while owner not in dirs and owner:
            owner = posixpath.dirname(owner)
        parsed = parse(rel) if owner in dirs else None
        if parsed is not None:
            dirs[owner].tfvars.append(parsed)
    return Scanner(dirs).scan(), errors
