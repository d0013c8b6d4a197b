"""Run every benchmark (`bench/bench_*.py`) in turn, then assemble docs/benchmarks.md.

    .venv/bin/python bench/run_all.py [--only audit,...]      (what `make bench` runs)

Each benchmark is a separate process, so that one cannot slow or break another; each writes its
figures to `docs/benchmarks-<name>.md`. docs/benchmarks.md is the one page of figures: a section
per benchmark, in name order, holding that file's content. A benchmark that fails is reported and
the others still run; the exit code is 1 when any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DOCS = ROOT / "docs"
PAGE = DOCS / "benchmarks.md"

HEADER = """# Benchmarks

The figures below are written by `make bench` (`.venv/bin/python bench/run_all.py`), which runs
every `bench/bench_*.py` in turn; each benchmark writes its section to `docs/benchmarks-<name>.md`
and this page gathers them. They were measured on the machine named in each section; on another
machine the absolute seconds differ, the ratios much less. How each benchmark measures, and why,
is in `bench/README.md`.
"""


# Real-client readiness accuracy: writes docs/readiness-accuracy.md (exit 1 on a false "ok").
GENERATORS = [BENCH / "readiness_accuracy.py"]


# A benchmark whose page has another name than bench_<name>.py would give it.
DOC_NAMES = {"org_audit": "org", "rotate_scale": "rotate-scale"}


def benchmarks() -> list[Path]:
    return sorted(BENCH.glob("bench_*.py"))


def name_of(script: Path) -> str:
    return script.stem.removeprefix("bench_")


def demote(markdown: str) -> str:
    """One heading level down (a section whose title is `# ...` sits under this page's title)."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        out.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(out)


def assemble_docs() -> Path:
    """Write docs/benchmarks.md from every docs/benchmarks-<name>.md present."""
    parts = [HEADER]
    scripts = {DOC_NAMES.get(name_of(s), name_of(s)): s for s in benchmarks()}  # page name -> script
    sections = {p.stem.removeprefix("benchmarks-"): p for p in DOCS.glob("benchmarks-*.md")}
    order = sorted(sections, key=lambda n: (n != "audit", n))  # the audit first: it is the headline
    for name in order:
        text = sections[name].read_text(encoding="utf-8").strip()
        if text.startswith("# "):
            text = demote(text)
        parts.append(text if text.startswith("#") else f"## {name}\n\n{text}")
    for name in sorted(set(scripts) - set(sections)):  # the command names the script, not the page
        parts.append(f"## {name}\n\nNot measured yet: run `.venv/bin/python bench/{scripts[name].name}`.")
    PAGE.write_text("\n\n".join(parts).rstrip() + "\n", encoding="utf-8")
    return PAGE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="benchmark names, comma-separated (default: all)")
    args = parser.parse_args(argv)
    only = {x for x in args.only.split(",") if x}
    failed = []
    for script in benchmarks():
        name = name_of(script)
        if only and name not in only:
            continue
        print(f"== bench {name} ==", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=ROOT)
        print(f"== bench {name}: exit {code} in {time.perf_counter() - started:.0f} s ==", flush=True)
        if code != 0:
            failed.append(name)
    for script in GENERATORS:  # pages of figures that are not timings
        name = script.stem
        if only and name not in only:
            continue
        print(f"== {name} ==", flush=True)
        code = subprocess.call([sys.executable, str(script)], cwd=ROOT)
        print(f"== {name}: exit {code} ==", flush=True)
        if code != 0:
            failed.append(name)
    page = assemble_docs()
    print(f"figures gathered in {page.relative_to(ROOT)}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
