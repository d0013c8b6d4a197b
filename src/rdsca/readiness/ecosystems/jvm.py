"""Java: Spring Boot data source properties, in `application*.properties` and nested YAML.

A JDBC driver's TLS options are often not in the URL but in the pool's data source properties
(`spring.datasource.hikari.data-source-properties.sslmode`, nested over five levels of YAML). The
driver is the one the data source's `url` or `driver-class-name` names; its options are judged by
the generic JDBC rules (settings_drivers), as if written in the URL, and each finding is put back on
the line its key is on. `-Djavax.net.ssl.trustStore` in `JAVA_TOOL_OPTIONS`, `JAVA_OPTS` or a
command line is read by the generic rules; `cacerts` / `jssecacerts` files in the tree by the
tree-wide pass (`tree`).

Sources: Spring Boot reference "SQL Databases: Configure a DataSource / DataSource Configuration"
(https://docs.spring.io/spring-boot/reference/data/sql.html#data.sql.datasource.configuration):
`spring.datasource.url`, `spring.datasource.driver-class-name`, and pool settings under their own
prefix, `spring.datasource.hikari.*` for HikariCP (the default pool: "Supported Connection Pools";
how to bind a second data source: https://docs.spring.io/spring-boot/how-to/data-access.html).
HikariCP's `dataSourceProperties` (HikariConfig) go to the driver as connection properties:
DriverDataSource copies them into the Properties it passes to Driver.connect(jdbcUrl, properties)
(github.com/brettwooldridge/HikariCP, src/main/java/com/zaxxer/hikari/util/DriverDataSource.java).
The properties are the driver's own (pgjdbc: https://jdbc.postgresql.org/documentation/use/#connection-parameters;
MySQL Connector/J: https://dev.mysql.com/doc/connector-j/en/connector-j-connp-props-security.html).
Where a key is both in the URL and in the properties, which wins is the driver's rule: not
checked here (the URL rules and these are read as one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import yaml

from rdsca.readiness.ecosystems.common import Found, Piece, Source, env_reference, through_base

_TLS_KEYS = frozenset(
    {
        "ssl",
        "sslmode",
        "sslrootcert",
        "sslfactory",
        "usessl",
        "requiressl",
        "verifyservercertificate",
        "trustcertificatekeystoreurl",
        "trustcertificatekeystoretype",
        "servercertificatekeystoreurl",
        "serversslcert",
        "truststore",
        "trustservercertificate",
    }
)
_PROPS = re.compile(r"^(.*?datasource[\w-]*)(?:\.[\w-]+)?\.data-?source-?properties\.([\w.-]+)$", re.I)
_URL = re.compile(r"^(.*?datasource[\w-]*)(?:\.[\w-]+)?\.(?:url|jdbc-?url)$", re.I)
_DRIVER = re.compile(r"^(.*?datasource[\w-]*)(?:\.[\w-]+)?\.driver-?class-?name$", re.I)
_JDBC = {
    "postgresql": "jdbc:postgresql://host/db?",
    "mysql": "jdbc:mysql://host/db?",
    "mariadb": "jdbc:mariadb://host/db?",
}
_DRIVER_CLASSES = {"org.postgresql": "postgresql", "com.mysql": "mysql", "org.mariadb": "mariadb"}


def wanted(src: Source) -> bool:
    if src.ext not in (".properties", ".yml", ".yaml"):
        return False
    return "datasource" in src.lower and (
        "data-source-properties" in src.lower or "datasourceproperties" in src.lower
    )


def find(src: Source) -> list[Found]:
    entries = list(_flatten(src))
    kinds: dict[str, str] = {}
    for key, value, _ in entries:
        for pattern in (_URL, _DRIVER):
            m = pattern.match(key)
            if m and value:
                kind = _kind(value)
                if kind:
                    kinds.setdefault(m.group(1).lower(), kind)
    groups: dict[str, list[Piece]] = {}
    for key, value, line in entries:
        m = _PROPS.match(key)
        if not m or m.group(2).lower() not in _TLS_KEYS:
            continue
        env = env_reference(value or "")
        piece = Piece(m.group(2), env[1] if env else value, line, env[0] if env else None)
        groups.setdefault(m.group(1).lower(), []).append(piece)
    out: list[Found] = []
    for prefix, pieces in groups.items():
        kind = kinds.get(prefix) or _guess(pieces)
        out += through_base(
            src, pieces, note="a data source property of the Spring data source", url=_JDBC[kind]
        )
    return out


def _kind(value: str) -> str | None:
    low = value.lower()
    for name in _JDBC:
        if f"jdbc:{name}:" in low:
            return name
    return next((kind for cls, kind in _DRIVER_CLASSES.items() if low.startswith(cls)), None)


def _guess(pieces: list[Piece]) -> str:
    keys = {p.key.lower() for p in pieces}
    return "postgresql" if keys & {"sslmode", "sslrootcert", "sslfactory"} else "mysql"


def _flatten(src: Source) -> Iterator[tuple[str, str | None, int]]:
    """(dotted key, scalar value, line) for each leaf of a properties or YAML file."""
    if src.ext == ".properties":
        for no, line in enumerate(src.lines, start=1):
            m = re.match(r"\s*([^#!\s=:][^=:\s]*)\s*[=:]\s*(.*)$", line)
            if m:
                yield m.group(1), m.group(2).strip(), no
        return
    try:
        docs = list(yaml.compose_all(src.text, Loader=yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError):  # PyYAML composes nested nodes recursively
        yield from _indented(src)
        return
    yield from _walk(docs)


# Aliases share one node: a file of nested aliases (the "billion laughs") composes small but names
# exponentially many keys. The walk stops after this many (a real settings file has hundreds).
_MAX_KEYS = 100_000


def _walk(docs: list[yaml.Node]) -> Iterator[tuple[str, str | None, int]]:
    """(dotted key, scalar, line) of each scalar under a mapping, depth first, in document order."""
    stack: list[tuple[str, yaml.Node]] = [("", doc) for doc in reversed(docs) if doc is not None]
    budget = _MAX_KEYS
    while stack:
        key, node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if key:
                yield key, str(node.value), node.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode):
            budget -= len(node.value)
            if budget < 0:
                return
            stack.extend((f"{key}.{k.value}" if key else str(k.value), v) for k, v in reversed(node.value))


def _indented(src: Source) -> Iterator[tuple[str, str | None, int]]:
    """Keys by indentation, for a YAML file PyYAML cannot read (templated, say)."""
    stack: list[tuple[int, str]] = []
    for no, line in enumerate(src.lines, start=1):
        m = re.match(r"^(\s*)([\w.-]+)\s*:\s*(.*)$", line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        key = ".".join([k for _, k in stack] + [m.group(2)])
        value = m.group(3).strip().strip("\"'")
        if value:
            yield key, value, no
        else:
            stack.append((indent, m.group(2)))
