"""The bounded walk of a scanned tree: which files are trust bundles, which are text to search
for TLS settings, which are lockfiles, and which are left out.

It skips VCS and dependency directories, symbolic links (they may point out of the tree, for
example into the host's /etc in an unpacked image), binary files and text files over the size
limit, and stops after `max_files` files.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rdsca.readiness.ecosystems.tree import BUNDLE_NAMES
from rdsca.readiness.trust_sources_libs import is_lockfile

BUNDLE_EXTS = frozenset(
    {
        ".pem",
        ".crt",
        ".cer",
        ".der",
        ".p7b",
        ".p7c",
        ".jks",
        ".jceks",
        ".keystore",
        ".truststore",
        ".p12",
        ".pfx",
    }
)
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".gradle",
        ".idea",
    }
)
_BINARY_EXTS = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".ico",
        ".pdf",
        ".zip",
        ".gz",
        ".tgz",
        ".jar",
        ".war",
        ".class",
        ".so",
        ".dll",
        ".exe",
        ".pyc",
        ".whl",
        ".woff",
        ".woff2",
        ".ttf",
        ".mp4",
        ".sqlite",
        ".db",
        ".bin",
        ".key",
    }
)


class Walk:
    """The files of one tree, sorted by kind, with what was left out and why."""

    def __init__(self, base: Path, max_text_bytes: int) -> None:
        self.base = base
        self.max_text_bytes = max_text_bytes
        self.bundle_files: list[str] = []
        self.text_files: list[str] = []
        self.lock_files: list[str] = []  # read whole by trust_sources (they may pass 1 MB)
        self.skipped: Counter[str] = Counter()
        self.seen = 0
        self.searched = 0
        self.truncated = False

    def texts(self) -> Iterator[tuple[str, str]]:
        """Each text file's content, one at a time (memory stays one file's worth)."""
        for rel in self.text_files:
            try:
                with (self.base / rel).open("rb") as fh:
                    data = fh.read(self.max_text_bytes)
            except OSError:
                self.skipped["unreadable"] += 1
                continue
            if b"\0" in data[:8192]:
                self.skipped["binary"] += 1
                continue
            self.searched += 1
            yield rel, data.decode("utf-8", "replace")


def walk(base: Path, max_files: int, max_text_bytes: int) -> Walk:
    w = Walk(base, max_text_bytes)
    root = os.fspath(base)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        # os.walk joins each directory onto `root`: its relative path is the rest of dirpath
        # (computed once per directory; pathlib per file was a third of the walk).
        prefix = dirpath[len(root) :].lstrip(os.sep).replace(os.sep, "/")
        prefix = prefix + "/" if prefix else ""
        for name in sorted(filenames):
            if w.seen >= max_files:
                w.truncated = True
                return w
            w.seen += 1
            _sort_file(w, os.path.join(dirpath, name), prefix + name, name)
    return w


def _sort_file(w: Walk, full: str, rel: str, name: str) -> None:
    try:
        st = os.lstat(full)
    except OSError:
        w.skipped["unreadable"] += 1
        return
    if not stat.S_ISREG(st.st_mode):  # lstat: a symbolic link is not a regular file
        w.skipped["symlink or special file"] += 1
        return
    ext = os.path.splitext(name)[1].lower()
    if is_lockfile(name):
        w.lock_files.append(rel)
    elif ext in BUNDLE_EXTS or name in BUNDLE_NAMES:
        w.bundle_files.append(rel)
    elif ext in _BINARY_EXTS:
        w.skipped["binary"] += 1
    elif st.st_size > w.max_text_bytes:
        w.skipped["too large"] += 1
    elif st.st_size > 0:
        w.text_files.append(rel)
