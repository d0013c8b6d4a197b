"""Walk a tree and hand each file to the scanner of its kind."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from rdsca.iac import cloudformation, code, manifests, terraform
from rdsca.iac.model import Pin, ScanError

SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", "cdk.out", ".venv", "venv", "__pycache__",
                       ".tox", "dist", "build"})  # fmt: skip
YAML_JSON = (".yaml", ".yml", ".json", ".template")
TYPESCRIPT = (".ts", ".tsx", ".js", ".mjs", ".cjs")
MAX_FILE_BYTES = 4 * 1024 * 1024  # larger files are generated or data, not infrastructure code


def files(root: Path) -> list[str]:
    """Relative POSIX paths of the regular files under `root` (or `root` itself), sorted."""
    if root.is_file():
        return [root.name]
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in filenames:
            full = Path(dirpath) / name
            if full.is_file() and not full.is_symlink():
                out.append(full.relative_to(root).as_posix())
    return sorted(out)


def scan_tree(root: Path) -> tuple[list[Pin], list[ScanError]]:
    base = root if root.is_dir() else root.parent
    names = files(root)
    tf = [n for n in names if n.endswith(".tf")]
    tfvars = [n for n in names if n.endswith(".tfvars")]
    pins, errors = terraform.scan(base, tf, tfvars)
    for rel in names:
        suffix = os.path.splitext(rel)[1]
        if suffix not in (*YAML_JSON, ".py", *TYPESCRIPT) or rel.endswith(".d.ts"):
            continue
        path = base / rel
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # not a text file we could hold a pin in
        try:
            if suffix in YAML_JSON:
                if any(m in text for m in cloudformation.MARKERS):
                    pins += cloudformation.scan(rel, text)
                if any(m in text for m in manifests.MARKERS):
                    pins += manifests.scan(rel, text)
            elif any(m in text for m in code.MARKERS):
                pins += code.scan_python(rel, text) if suffix == ".py" else code.scan_typescript(rel, text)
        except (yaml.YAMLError, SyntaxError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            errors.append(ScanError(rel, f"not read: {first}"))
    return pins, errors
