"""Go: go-sql-driver/mysql `tls=` values and registered TLS configs, golang-migrate's `x-tls-*`.

pgx and lib/pq DSNs (`sslmode=`, `sslrootcert=`) follow libpq's meanings and are read by the
generic rules (pgx: pgconn.ParseConfig; lib/pq: "SSL" in https://pkg.go.dev/github.com/lib/pq).

Sources:
- go-sql-driver/mysql (https://github.com/go-sql-driver/mysql#tls): `tls=true` verifies against
  the system's CAs, `skip-verify` encrypts without checking, `preferred` is skip-verify with a
  plaintext fallback, `false` is off, any other value names a config registered with
  `mysql.RegisterTLSConfig(name, &tls.Config{RootCAs: pool})`; the pool is usually filled from a
  file read a few lines before (`os.ReadFile` + `AppendCertsFromPEM`). `InsecureSkipVerify: true`
  in that config turns checking off.
- golang-migrate's MySQL driver (https://github.com/golang-migrate/migrate/tree/master/database/mysql):
  `x-tls-ca` names the CA, `x-tls-insecure-skip-verify` turns checking off; they take effect with
  `tls=custom`.
"""

from __future__ import annotations

import re

from rdsca.readiness.ecosystems.common import CaValue, Found, Source, ca_value, query
from rdsca.readiness.trust_settings import NO_TLS, NO_VERIFICATION, VERIFY

_REGISTER = re.compile(r"""RegisterTLSConfig\(\s*"([^"]+)"\s*,""")
_READ = re.compile(r"""(?:os|ioutil)\.ReadFile\(((?:[^()\n]|\([^()\n]*\))*)\)""")  # one nested call
_TLS_PARAM = re.compile(r"""[?&]tls=([\w.-]+)""")
_CFG_FIELD = re.compile(r"""\bTLSConfig\s*[:=]\s*"([^"]+)\"""")


def wanted(src: Source) -> bool:
    low = src.lower
    return (
        "tls=" in low
        or "registertlsconfig" in low
        or "x-tls-" in low
        or ("tlsconfig" in low and src.ext == ".go")
    )


def find(src: Source) -> list[Found]:
    registered = _registered(src) if src.ext == ".go" else {}
    out = []
    seen: set[int] = set()
    for m in _PARAM_AT.finditer(src.text):
        dsn, start = _token_around(src.text, m.start())
        if start in seen:
            continue
        seen.add(start)
        if not ("@tcp(" in dsn or "mysql://" in dsn or "@unix(" in dsn):  # a MySQL DSN, not Redis or MongoDB
            continue
        line = src.line_of(start)
        params = query(dsn)
        if "x-tls-ca" in params or "x-tls-insecure-skip-verify" in params:
            out.append(_migrate(src, line, params))
            continue
        tls = params.get("tls")
        if tls:
            out.append(_tls(src, line, tls, registered))
    if src.ext == ".go":
        for m in _CFG_FIELD.finditer(src.text):
            out.append(_tls(src, src.line_of(m.start()), m.group(1), registered))
    return out


_PARAM_AT = re.compile(r"[?&](?:tls|x-tls-ca)=")
_TOKEN_END = re.compile(r"""["'`\s]""")


def _token_around(text: str, at: int) -> tuple[str, int]:
    """The quoted or blank-delimited token holding position `at`, and where it starts."""
    start = max(text.rfind(c, 0, at) for c in "\"'` \t\n") + 1
    end = _TOKEN_END.search(text, at)
    return text[start : end.start() if end else len(text)], start


def _registered(src: Source) -> dict[str, tuple[CaValue | None, bool]]:
    """Config name -> (the CA file read before it, InsecureSkipVerify) for each RegisterTLSConfig."""
    out = {}
    for m in _REGISTER.finditer(src.text):
        line = src.line_of(m.start())
        window = "\n".join(src.lines[max(0, line - 40) : line + 6])
        skip = bool(re.search(r"InsecureSkipVerify\s*:\s*true", window))
        reads = [
            (src.line_of(r.start()), r.group(1))
            for r in _READ.finditer(src.text)
            if line - 40 <= src.line_of(r.start()) <= line
        ]
        ca = ca_value(_follow(src, reads[-1][1]), reads[-1][0]) if reads else None
        out[m.group(1)] = (ca, skip)
    return out


def _follow(src: Source, expr: str) -> str:
    """A variable's string value, or an os.Getenv call it was assigned from."""
    ident = re.fullmatch(r"\s*(\w+)\s*", expr)
    if ident:
        m = re.search(rf"\b{ident.group(1)}\s*:?=\s*(.+)", src.text)
        if m:
            return m.group(1)
    return expr


def _tls(src: Source, line: int, value: str, registered: dict[str, tuple[CaValue | None, bool]]) -> Found:
    low = value.lower()
    client, mode = "go-mysql", f"tls={value}"
    if low in ("false", "0"):
        return Found(src.setting(line, client, mode, NO_TLS))
    if low == "skip-verify":
        return Found(src.setting(line, client, mode, NO_VERIFICATION))
    if low == "preferred":
        return Found(
            src.setting(line, client, mode, NO_VERIFICATION, note="skip-verify with a plaintext fallback")
        )
    if low in ("true", "1"):
        note = "verifies against the system's CAs, which hold no RDS root unless one was installed"
        return Found(src.setting(line, client, mode, VERIFY, note=note))
    if value not in registered:
        note = f"TLS config {value!r} is registered elsewhere (mysql.RegisterTLSConfig): its CA is unknown"
        return Found(src.setting(line, client, mode, VERIFY, note=note))
    ca, skip = registered[value]
    if skip:
        return Found(
            src.setting(line, client, mode, NO_VERIFICATION, note="its tls.Config has InsecureSkipVerify")
        )
    note = "" if ca else f"no CA file read near RegisterTLSConfig({value!r})"
    return Found(src.setting(line, client, mode, VERIFY, ca, note))


def _migrate(src: Source, line: int, params: dict[str, str]) -> Found:
    if params.get("x-tls-insecure-skip-verify", "").lower() == "true":
        return Found(src.setting(line, "golang-migrate", "x-tls-insecure-skip-verify=true", NO_VERIFICATION))
    ca = CaValue(params["x-tls-ca"], line) if params.get("x-tls-ca") else None
    return Found(src.setting(line, "golang-migrate", "x-tls-ca", VERIFY, ca))
