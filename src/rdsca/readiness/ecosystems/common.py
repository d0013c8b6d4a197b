"""What the ecosystem rules share: the file being read, findings, CA values and their indirections.

A CA file is often not written where the driver option is set but read from the environment:
`env('MYSQL_ATTR_SSL_CA')` (Laravel), `${TRUSTSTORE}` (Spring, shell), `os.environ["DB_CA"]`,
`process.env.DB_CA`, `ENV.fetch("DB_CA")` (ERB), `os.Getenv("DB_CA")`. Such a setting carries no
CA file and a note naming the variable; the tree-wide pass (`tree.TreeContext`) then looks the
variable up in the scanned tree's env files, and when no env file sets it the verdict is
"unknown: set by environment variable X". A default written beside the variable is used meanwhile.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import PurePosixPath

from rdsca.readiness.trust_settings import Setting, redact

BaseRules = Callable[[str, str], list[Setting]]


@dataclass(frozen=True)
class Found:
    """A finding, and whether it replaces the generic rules' findings on its lines (where the
    generic line rules read the setting with another driver's semantics)."""

    setting: Setting
    replaces: bool = False
    also_replaces: tuple[int, ...] = ()  # other lines whose generic findings this one stands for


@dataclass
class Source:
    """One file's text, read once and shared by every rule."""

    path: str
    text: str
    base: BaseRules  # the generic line rules, to judge a libpq- or MySQL-like setting the same way

    @cached_property
    def lines(self) -> list[str]:
        return [ln[:4000] for ln in self.text.splitlines()]

    @cached_property
    def lower(self) -> str:
        return self.text.lower()

    @cached_property
    def name(self) -> str:
        return PurePosixPath(self.path).name.lower()

    @cached_property
    def ext(self) -> str:
        return PurePosixPath(self.path).suffix.lower()

    @cached_property
    def _starts(self) -> list[int]:
        starts, pos = [], 0
        for line in self.text.splitlines(keepends=True):
            starts.append(pos)
            pos += len(line)
        return starts

    def line_of(self, offset: int) -> int:
        """1-based line number of a character offset in the text."""
        lo, hi = 0, len(self._starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def setting(
        self,
        line: int,
        client: str,
        mode: str,
        category: str,
        ca: CaValue | None = None,
        note: str = "",
    ) -> Setting:
        """A Setting on `line`; a CA value read from an environment variable says so in the note."""
        ca_ref, ca_line = (ca.ref, ca.line) if ca else (None, None)
        if ca and ca.env:
            note = "; ".join(n for n in (ca.env_note(), note) if n)
        return Setting(
            path=self.path,
            line=line,
            client=client,
            mode=mode,
            category=category,
            ca_ref=ca_ref,
            ca_line=ca_line,
            text=redact(self.lines[line - 1] if 0 < line <= len(self.lines) else ""),
            note=note,
        )

    def comment_line(self, line: int) -> bool:
        """A line that is only a comment (in any of the languages read here)."""
        s = self.lines[line - 1].lstrip() if 0 < line <= len(self.lines) else ""
        return s.startswith(("#", "//", "/*", "* ", "<!--", ";", "REM "))


_DOC_EXTS = frozenset({".md", ".markdown", ".rst", ".adoc", ".asciidoc"})


def is_documentation(path: str) -> bool:
    """Prose about a setup (README, *.md, *.rst), not a configuration any client reads."""
    p = PurePosixPath(path)
    return p.suffix.lower() in _DOC_EXTS or p.name.lower().startswith("readme")


# --- CA values and environment variables -------------------------------------------------------

ENV_VAR = re.compile(r"environment variable ([A-Za-z_][A-Za-z0-9_]*)")

_ENV_FORMS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        r"""%env\((?:[a-z_]+:)*(\w+)\)%""",  # Symfony / Doctrine parameters
        r"""(?<![\w$])env\(\s*["'](\w+)["']\s*(?:,\s*["']([^"']*)["'])?""",  # Laravel, Prisma
        r"""\$\{(\w+)(?::?-?([^}]*))?\}""",  # shell, Spring, Compose: ${X} ${X:default} ${X:-default}
        r"""os\.environ\[\s*["'](\w+)["']\s*\]""",
        r"""os\.(?:environ\.get|getenv)\(\s*["'](\w+)["']\s*(?:,\s*["']([^"']*)["'])?""",
        r"""process\.env\.(\w+)(?:\s*(?:\|\||\?\?)\s*["'`]([^"'`]*)["'`])?""",
        r"""process\.env\[\s*["'](\w+)["']\s*\](?:\s*(?:\|\||\?\?)\s*["'`]([^"'`]*)["'`])?""",
        r"""ENV\.fetch\(\s*["'](\w+)["']\s*(?:,\s*["']([^"']*)["']|\)\s*\{\s*["']([^"']*)["'])?""",
        r"""ENV\[\s*["'](\w+)["']\s*\](?:\s*\|\|\s*["']([^"']*)["'])?""",
        r"""os\.Getenv\(\s*"(\w+)"\s*\)""",
        r"""Environment\.GetEnvironmentVariable\(\s*"(\w+)"\s*\)""",
        r"""System\.getenv\(\s*"(\w+)"\s*\)""",
        r"""(?<![\w>])getenv\(\s*["'](\w+)["']\s*\)""",
        r"""\$(?!\{)([A-Z_][A-Z0-9_]*)\b""",  # $X in shell and env files (upper case: not a PHP variable)
    )
)


@dataclass(frozen=True)
class CaValue:
    """A CA file as a setting names it: a path (`ref`), or an environment variable (`env`), maybe
    with a default path."""

    ref: str | None
    line: int | None
    env: str | None = None

    def env_note(self) -> str:
        if not self.env:
            return ""
        if self.ref:
            return f"CA file from environment variable {self.env} (default {self.ref})"
        return f"unknown: set by environment variable {self.env}"


def env_reference(fragment: str) -> tuple[str, str | None] | None:
    """(variable, default) when the text reads an environment variable."""
    for pattern in _ENV_FORMS:
        m = pattern.search(fragment)
        if m:
            default = next((g for g in m.groups()[1:] if g), None)
            return m.group(1), (default.strip() or None) if default else None
    return None


_QUOTED = re.compile(r"""["'`]([^"'`]+)["'`]""")


def ca_value(fragment: str, line: int) -> CaValue | None:
    """The CA file an expression names: an environment variable (with its default) or the first
    quoted string (joined when it is `path.join(__dirname, 'certs', 'x.pem')`-like)."""
    env = env_reference(fragment)
    if env:
        return CaValue(env[1], line, env[0])
    parts = _QUOTED.findall(fragment)
    if not parts:
        bare = fragment.strip().strip(",;)\"'")
        return CaValue(bare, line) if bare and re.fullmatch(r"[\w./~:\\-]+", bare) else None
    joined = len(parts) > 1 and re.search(r"\b(?:join|resolve|Path|Combine)\s*\(", fragment)
    if joined or "__dirname" in fragment:  # path.join(__dirname, 'a', 'b'), __dirname + '/a/b'
        return CaValue("/".join(p.strip("/") for p in parts), line)
    return CaValue(parts[0], line)


_JUNK_REF = re.compile(r"^\$|<%|%\(|%env|\benv\(|getenv|environ\b|\benviron\[|process\.env|ENV[.\[]|[(>]")


def fix_env_refs(src: Source, found: Iterable[Setting]) -> list[Setting]:
    """The generic rules take `os.environ[`, `<%=` or `os.path.join(BASE_DIR` for a CA path: read
    the environment variable, or follow the path expression, instead; a CA path computed in a way
    rdsca does not follow is said so, not quoted as if it were a file name."""
    out = []
    for s in found:
        if s.ca_ref and s.ca_line and _JUNK_REF.search(s.ca_ref):
            line = src.lines[s.ca_line - 1] if s.ca_line <= len(src.lines) else ""
            env = env_reference(line)
            path = python_path(line, src) if src.ext == ".py" and not env else None
            if env:
                ca = CaValue(env[1], s.ca_line, env[0])
                s = replace(s, ca_ref=ca.ref, note="; ".join(n for n in (ca.env_note(), s.note) if n))
            elif path:
                s = replace(s, ca_ref=path)
            else:
                note = f"the CA file is computed in code ({s.ca_ref}...), which rdsca does not follow"
                s = replace(s, ca_ref=None, note="; ".join(n for n in (note, s.note) if n))
        out.append(s)
    return out


_PY_PART = re.compile(r"""/\s*["']([^"']*)["']""")
_QUOTED_PART = re.compile(r"""["']([^"']*)["']""")


def python_path(fragment: str, src: Source) -> str | None:
    """The file a Python path expression names, as an absolute path under the scanned root:
    `os.path.join(BASE_DIR, "certs", "x.pem")`, `BASE_DIR / "certs" / "x.pem"`, with BASE_DIR
    assigned from `__file__` in the same file (Django's startproject layouts, `os.path.dirname`
    or `Path(__file__).resolve().parent` chains). Read with string scans, not backtracking
    patterns: a long line costs its length."""
    join = fragment.find("os.path.join(")
    if join >= 0:
        base_expr, _, rest = fragment[join + len("os.path.join(") :].partition(",")
        parts = _QUOTED_PART.findall(rest.split(")")[0])
    else:
        m = re.search(r"""\s/\s*["']""", fragment)
        if m is None:
            return None
        start = m.start()
        while start > 0 and (fragment[start - 1].isalnum() or fragment[start - 1] in "_.()[]"):
            start -= 1
        base_expr = fragment[start : m.start()]
        if base_expr.count("(") > base_expr.count(")"):  # str(BASE_DIR / ...
            base_expr = base_expr[base_expr.rindex("(") + 1 :]
        parts = _PY_PART.findall(fragment[m.start() :])
    base = _py_dir(base_expr, src, 0)
    parts = [p.strip("/") for p in parts if p.strip("/")]
    return from_dir(base, "/".join(parts)) if base is not None and parts else None


def _py_dir(expr: str, src: Source, depth: int) -> str | None:
    """The directory (relative to the root) an expression names."""
    expr = expr.strip()
    if "__file__" in expr:
        if "dirname(" in expr:
            up = expr.count("dirname(") - 1
        elif m := re.search(r"\.parents\[(\d)\]", expr):
            up = int(m.group(1))
        else:
            up = expr.count(".parent") - 1
        directory = PurePosixPath(src.path).parent
        for _ in range(max(0, up)):
            directory = directory.parent
        return str(directory)
    if re.fullmatch(r"[A-Za-z_]\w*", expr) and depth < 3:
        assigned = re.search(rf"^\s*{expr}\s*(?::\s*\w+\s*)?=\s*(.+)$", src.text, re.M)
        if assigned:
            return _py_dir(assigned.group(1), src, depth + 1)
    return None


# --- judging through the generic rules ---------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One `key=value` of a setting spread over lines (a YAML mapping, a PHP array)."""

    key: str
    value: str | None
    line: int
    env: str | None = None  # the value comes from this environment variable (`value`: its default)


def through_base(
    src: Source, pieces: list[Piece], client: str | None = None, note: str = "", url: str = ""
) -> list[Found]:
    """Judge libpq-, MySQL- or JDBC-style keys with the generic rules, as if they were written on
    one line (after `url`, a JDBC URL up to its `?`, when given), and put each finding back on the
    line its key is written on."""
    values = [p for p in pieces if p.value]
    if not values:
        return []
    env_notes = [CaValue(p.value, p.line, p.env).env_note() for p in pieces if p.env]
    note = "; ".join(n for n in (*env_notes, note) if n)
    text = (
        url + "&".join(f"{p.key}={p.value}" for p in values)
        if url
        else " ".join(f"{p.key}={p.value}" for p in values)
    )
    out = []
    for s in src.base("ecosystems.conf", text):
        key = s.mode.split("=")[0].lower().lstrip("-") if "=" in s.mode else ""
        mode_piece = next((p for p in values if p.key.lower() == key), None)
        ca_piece = next((p for p in values if s.ca_ref and p.value == s.ca_ref), None)
        line = (mode_piece or ca_piece or values[0]).line
        extra = "; ".join(n for n in (s.note, note) if n)
        setting = src.setting(line, client or s.client, s.mode, s.category, note=extra)
        setting = replace(setting, ca_ref=s.ca_ref, ca_line=ca_piece.line if ca_piece else None)
        out.append(Found(setting, replaces=True))
    return out


def from_dir(directory: str, ref: str) -> str:
    """A path the client resolves against `directory` (relative to the scanned root), written as
    an absolute path under the root, the form the scan looks up first."""
    if ref.startswith(("/", "~", "$")) or re.match(r"[A-Za-z]:[\\/]", ref):
        return ref
    return "/" + posixpath.normpath(posixpath.join(directory, ref)).lstrip("/")


def query(url: str) -> dict[str, str]:
    """The query parameters of a connection URL (last one wins; keys lower-cased)."""
    out: dict[str, str] = {}
    _, _, q = url.partition("?")
    for part in re.split(r"[&;]", q):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out
