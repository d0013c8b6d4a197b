"""Where the trust really lives: bundles fetched into images, OS trust anchors, PEM held in
Kubernetes objects, Helm values or source code, and drivers that ship their own RDS CAs.

`find(path, text)` reads one text file and returns what it holds (pure, line by line, no
parser); `Judge` then decides each item against the target CA, reading bundle files of the tree
through the scan's checker. Each finding names its file and line.

AWS's download locations ("Using SSL/TLS to encrypt a connection to a DB instance or cluster",
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html, "Certificate bundles
by AWS Region"): https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem (.p7b) holds every
current CA of every commercial region; /<region>/<region>-bundle.pem only that region's;
GovCloud and China have their own hosts. The pre-2020 location
https://s3.amazonaws.com/rds-downloads/ (rds-combined-ca-bundle.pem, rds-ca-2019-root.pem,
rds-ca-2019-<region>.pem) never received the G1 roots.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from rdsca.readiness.trust_settings import redact
from rdsca.words import plural

URL = "url"
PIN = "pin"
ANCHOR = "anchor"
PEM = "pem"

CURRENT_URL = re.compile(
    r"https?://(?P<host>truststore\.pki\.(?:us-gov-[a-z]+-\d\.)?rds\.amazonaws\.com"
    r"|rds-truststore\.s3\.cn-[a-z]+-\d\.amazonaws\.com\.cn)"
    r"/(?P<dir>[a-z0-9-]+)/(?P<file>[a-z0-9-]+-bundle\.(?:pem|p7b))",
    re.I,
)
STALE_URL = re.compile(
    r"https?://s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?/rds-downloads/(?P<file>[A-Za-z0-9._-]+\.(?:pem|p7b))",
    re.I,
)
_HEX64 = re.compile(r"(?<![0-9a-fA-F])([0-9a-fA-F]{64})(?![0-9a-fA-F])")
_BUNDLE_NAME = re.compile(r"[\w.-]*bundle\.(?:pem|p7b)|rds-ca-[\w-]+\.pem|rds-combined[\w.-]*", re.I)
# The two directories OS tools build the system store from, and the command that rebuilds it.
ANCHOR_DIRS = {
    "/usr/local/share/ca-certificates": "update-ca-certificates",  # Debian, Ubuntu, Alpine
    "/etc/pki/ca-trust/source/anchors": "update-ca-trust",  # RHEL, Fedora, Amazon Linux
}
_COMMENT = ("#", "//", "--", ";", "* ", "/*", "<!--", "rem ")
_DOC_EXTS = frozenset({".md", ".markdown", ".rst", ".adoc", ".html", ".htm", ".txt"})
_DOC_NAMES = ("readme", "changelog", "changes", "history", "license", "notice", "authors")
_B64_PEM = re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{40,}")  # base64 of "-----BEGIN"
_B64_DER = re.compile(r"""[:=]\s*["']?(MII[A-Za-z0-9+/]{300,}={0,2})""")  # a DER certificate, base64
_TOKEN = re.compile(r"^[A-Za-z0-9+/]{2,}={0,2}$")
_BEGIN, _END = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"


@dataclass(frozen=True)
class Found:
    """Something in a file that decides what a client trusts."""

    path: str
    line: int
    kind: str  # url | pin | anchor | pem
    client: str  # the column shown: dockerfile, os-trust-store, kubernetes, helm, source, script
    what: str  # the setting column: "ADD global-bundle.pem", "sha256 pin", ...
    text: str  # the line, secrets redacted
    url: str | None = None
    digest: str | None = None  # a sha256 pin, lower case
    ref: str | None = None  # anchor: the file copied in, as written
    dest: str | None = None  # anchor: where it goes
    update: str | None = None  # anchor: "file:line" of the command that rebuilds the store
    der: tuple[bytes, ...] = ()  # pem: the certificates


def is_dockerfile(name: str) -> bool:
    low = name.lower()
    return (
        low in ("dockerfile", "containerfile")
        or low.startswith(("dockerfile.", "containerfile."))
        or (low.endswith((".dockerfile", ".containerfile")))
    )


def is_doc(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()  # called for every file: plain string work
    dot = name.rfind(".")
    return (dot > 0 and name[dot:] in _DOC_EXTS) or name.startswith(_DOC_NAMES)


def is_comment(line: str) -> bool:
    low = line.lstrip().lower()
    return low.startswith(_COMMENT) and not low.startswith("-----")


def find(path: str, text: str) -> list[Found]:
    """Everything in one file's text that says where a client's trust comes from."""
    if is_doc(path):
        return []
    name = path.rsplit("/", 1)[-1]
    out: list[Found] = []
    # Cheap tests first, a few substring searches per file (no lower-cased copy of the text):
    # AWS's hosts and the OS commands are written in lower case, PEM markers in upper case, and a
    # base64 DER certificate ("MII...") is looked for in YAML and JSON only.
    aws = "amazonaws.com" in text
    script = name.lower().endswith((".sh", ".bash")) or name == "Makefile"
    if is_dockerfile(name) or script:
        if aws or "ca-certificates" in text or "ca-trust" in text:
            out.extend(_instructions_found(path, text, docker=not script))
    elif aws:
        out.extend(_urls_found(path, text))
    data = name.endswith((".yaml", ".yml", ".json")) and "MII" in text
    if "-----BEGIN CERTIFICATE" in text or "LS0tLS1CRUdJTi" in text or data:
        out.extend(_pem_found(path, text))
    return out


# --- URLs outside Dockerfiles: code that downloads the bundle at run time, CI configs ---------


def _client_of(path: str) -> str:
    p = PurePosixPath(path)
    if p.suffix.lower() in (".yaml", ".yml", ".json", ".tpl"):
        return "helm" if ("values" in p.name.lower() or "templates" in p.parts) else "yaml"
    return "source"


# A download near the URL (same line or the next to it): a URL in a message or a docstring
# fetches nothing.
_FETCH = re.compile(
    r"curl|wget|urlretrieve|urlopen|requests\.get|httpx|fetch\(|https?\.get\(|axios|got\(|"
    r"Invoke-WebRequest|iwr\s|get_url|download|\burl\s*[:=(]|new URL\(|http\.Get|HttpClient",
    re.I,
)


def _urls_found(path: str, text: str) -> Iterator[Found]:
    lines = text.splitlines()
    for no, line in enumerate(lines, start=1):
        if "amazonaws.com" not in line or is_comment(line):
            continue
        near = STALE_URL.sub("", CURRENT_URL.sub("", "\n".join(lines[max(0, no - 2) : no + 1])))
        if not _FETCH.search(near):
            continue
        for m in (*CURRENT_URL.finditer(line), *STALE_URL.finditer(line)):
            yield Found(
                path, no, URL, _client_of(path), f"fetches {file_of(m.group(0))}", redact(line), m.group(0)
            )


def file_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


# --- Dockerfiles and shell scripts ---------------------------------------------------------------


@dataclass(frozen=True)
class _Instruction:
    keyword: str  # ADD, COPY, RUN, ARG, ENV ... ("RUN" for every line of a script)
    lines: tuple[tuple[int, str], ...]  # (line number, text) of each physical line

    @property
    def text(self) -> str:
        return " ".join(t.rstrip().removesuffix("\\") for _, t in self.lines)


def _instructions(text: str, docker: bool) -> Iterator[_Instruction]:
    current: list[tuple[int, str]] = []
    for no, line in enumerate(text.splitlines(), start=1):
        if is_comment(line) and line.lstrip().startswith("#"):
            continue  # Docker drops comment lines, even inside a continued instruction
        if not current and not line.strip():
            continue
        current.append((no, line))
        if not line.rstrip().endswith("\\"):
            first = current[0][1].strip()
            keyword = first.split(None, 1)[0].upper() if docker and first else "RUN"
            yield _Instruction(keyword, tuple(current))
            current = []
    if current:
        yield _Instruction("RUN", tuple(current))


def _instructions_found(path: str, text: str, docker: bool) -> list[Found]:
    client = "dockerfile" if docker else "script"
    found: list[Found] = []
    updates: dict[str, str] = {}  # rebuild command -> "file:line"
    fetches = any(
        CURRENT_URL.search(ln) or STALE_URL.search(ln) for ln in text.splitlines() if not is_comment(ln)
    )
    for ins in _instructions(text, docker):
        found.extend(_urls_in(path, ins, client))
        found.extend(_pins_in(path, ins, client, fetches))
        found.extend(_anchors_in(path, ins))
        for no, line in ins.lines:
            for command in ANCHOR_DIRS.values():
                if command in line and command not in updates:
                    updates[command] = f"{path}:{no}"
    return [
        replace(f, update=updates.get(ANCHOR_DIRS[anchor_dir(f.dest)])) if f.kind == ANCHOR and f.dest else f
        for f in found
    ]


def _urls_in(path: str, ins: _Instruction, client: str) -> Iterator[Found]:
    if ins.keyword not in ("ADD", "RUN"):
        return
    dests = _download_dests(ins)
    for no, line in ins.lines:
        for m in (*CURRENT_URL.finditer(line), *STALE_URL.finditer(line)):
            verb = "ADD" if ins.keyword == "ADD" else "RUN curl/wget"
            url = m.group(0)
            what = f"{verb} {file_of(url)}"
            yield Found(path, no, URL, client, what, redact(line), url, dest=dests.get(url))


def _download_dests(ins: _Instruction) -> dict[str, str]:
    """url -> the path it is saved to, when the instruction says (ADD's last argument, curl -o,
    wget -O); settings that name that path are judged by the URL."""
    try:
        words = shlex.split(ins.text, comments=False, posix=True)
    except ValueError:
        words = ins.text.split()
    if ins.keyword == "ADD":
        args = [w for w in words[1:] if not w.startswith("--")]
        if len(args) < 2:
            return {}
        dest = args[-1]
        return {u: dest + file_of(u) if dest.endswith("/") else dest for u in args[:-1]}
    return {u: d for u, d in _shell_copies(words) if u.startswith("http")}


def _pins_in(path: str, ins: _Instruction, client: str, fetches: bool) -> Iterator[Found]:
    """sha256 pins of a bundle: ADD --checksum=sha256:..., `sha256sum -c`, `echo "<hash>  file" |
    sha256sum`, or an ARG/ENV named like a checksum."""
    whole = ins.text
    about_bundle = bool(CURRENT_URL.search(whole) or STALE_URL.search(whole) or _BUNDLE_NAME.search(whole))
    named = fetches and ins.keyword in ("ARG", "ENV") and re.search(r"(sha|checksum|digest)", whole, re.I)
    pinning = "--checksum=sha256:" in whole or "sha256sum" in whole or "shasum" in whole
    if not (about_bundle and pinning) and not named:
        return
    for no, line in ins.lines:
        for m in _HEX64.finditer(line):
            yield Found(path, no, PIN, client, "sha256 pin", redact(line), digest=m.group(1).lower())


def anchor_dir(dest: str | None) -> str:
    for d in ANCHOR_DIRS:
        if dest and dest.startswith(d):
            return d
    return ""


def _anchors_in(path: str, ins: _Instruction) -> Iterator[Found]:
    """Files put into an OS anchor directory: COPY/ADD src dest, cp/mv/install, curl -o, wget -O."""
    if not any(d in ins.text for d in ANCHOR_DIRS):
        return
    try:
        words = shlex.split(ins.text, comments=False, posix=True)
    except ValueError:
        words = ins.text.split()
    line_of = {d: no for no, t in ins.lines for d in ANCHOR_DIRS if d in t}
    pairs: list[tuple[str, str]] = []  # (source, destination)
    if ins.keyword in ("COPY", "ADD"):
        args = [w for w in words[1:] if not w.startswith("--")]
        if len(args) >= 2 and anchor_dir(args[-1]):
            pairs = [(src, args[-1]) for src in args[:-1]]
    else:
        pairs = list(_shell_copies(words))
    for src, dest in pairs:
        d = anchor_dir(dest)
        if not d:
            continue
        no = line_of.get(d, ins.lines[0][0])
        text = redact(next(t for n, t in ins.lines if n == no))
        url = m.group(0) if (m := CURRENT_URL.search(src) or STALE_URL.search(src)) else None
        target = dest if not dest.endswith("/") else dest + PurePosixPath(src).name
        yield Found(
            path, no, ANCHOR, "os-trust-store", f"{file_of(src)} -> {d}", text, url=url, ref=src, dest=target
        )


def _shell_copies(words: list[str]) -> Iterator[tuple[str, str]]:
    commands: list[list[str]] = [[]]
    for w in words:
        if w in ("&&", "||", ";", "|"):
            commands.append([])
        else:
            commands[-1].append(w.rstrip(";"))
    for cmd in commands:
        if not cmd:
            continue
        prog = PurePosixPath(cmd[0]).name
        args = [a for a in cmd[1:] if not a.startswith("-") or a in ("-o", "-O", "--output")]
        if prog in ("cp", "mv", "install", "ln") and len(args) >= 2:
            yield from ((src, args[-1]) for src in args[:-1])
        elif prog in ("curl", "wget"):
            for i, a in enumerate(cmd):
                if a in ("-o", "-O", "--output", "--output-document") and i + 1 < len(cmd):
                    url = next((u for u in cmd[1:] if u.startswith("http")), "")
                    yield url, cmd[i + 1]


# --- PEM held in YAML, JSON or source code --------------------------------------------------------


def _pem_found(path: str, text: str) -> list[Found]:
    lines = text.splitlines()
    client = _pem_client(path, text)
    out: list[Found] = []
    groups: list[tuple[int, list[bytes], str]] = []  # (first line, certificates, text)
    last_end = -10
    for begin, end, der in _pem_blocks(lines):
        if der is None:
            continue
        if groups and begin - last_end <= 3:
            groups[-1][1].append(der)
        else:
            groups.append((begin, [der], lines[begin - 1]))
        last_end = end
    for first, ders, line in groups:
        out.append(
            Found(path, first, PEM, client, _pem_what(client, len(ders)), redact(line), der=tuple(ders))
        )
    for no, line in enumerate(lines, start=1):
        if is_comment(line):
            continue
        for m in _B64_PEM.finditer(line):
            ders = _decode_pem_text(_b64(m.group(0)))
            if ders:
                out.append(
                    Found(
                        path,
                        no,
                        PEM,
                        client,
                        _pem_what(client, len(ders), "base64 "),
                        _short(line),
                        der=tuple(ders),
                    )
                )
        for m in _B64_DER.finditer(line):
            raw = _b64(m.group(1))
            if raw:
                out.append(
                    Found(
                        path, no, PEM, client, _pem_what(client, 1, "base64 DER "), _short(line), der=(raw,)
                    )
                )
    return out


def _short(line: str) -> str:
    line = line.strip()
    return line if len(line) <= 100 else line[:97] + "..."


def _pem_client(path: str, text: str) -> str:
    if re.search(r"^kind:\s*(Secret|ConfigMap)\b", text, re.M):
        return "kubernetes"
    return _client_of(path)


def _pem_what(client: str, n: int, how: str = "") -> str:
    where = {"kubernetes": "in a Secret/ConfigMap", "helm": "in Helm values", "yaml": "in YAML"}.get(
        client, "embedded in source"
    )
    return f"{n} {how}PEM {plural(n, 'certificate')} {where}"


def _pem_blocks(lines: list[str]) -> Iterator[tuple[int, int, bytes | None]]:
    """(begin line, end line, DER) of each certificate block, in any quoting: YAML `|` blocks,
    Python/Go/JS multi-line strings, Java/JS concatenations of "...\\n" pieces."""
    i = 0
    while i < len(lines):
        line = lines[i]
        if _BEGIN not in line or is_comment(line):
            i += 1
            continue
        body = line.split(_BEGIN, 1)[1]
        j = i
        while _END not in body and j + 1 < len(lines) and j - i < 200:
            j += 1
            body += "\n" + lines[j]
        if _END not in body:
            yield i + 1, j + 1, None
            i = j + 1
            continue
        inner = body.split(_END, 1)[0].replace("\\n", "\n").replace("\\r", "\n")
        tokens = (t for ln in inner.splitlines() for t in re.split(r"[\s'\"`,;()\[\]{}\\]+", ln))
        yield i + 1, j + 1, _b64("".join(t for t in tokens if _TOKEN.match(t)))
        i = j + 1 if j > i else i + 1


def _b64(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if raw[:1] in (b"-", b"\x30") else None


def _decode_pem_text(raw: bytes | None) -> list[bytes]:
    if not raw:
        return []
    lines = raw.decode("ascii", "replace").splitlines()
    return [der for _, _, der in _pem_blocks(lines) if der]
