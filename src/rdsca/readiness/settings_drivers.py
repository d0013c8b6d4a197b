"""Which database driver a TLS setting belongs to, and what its mode means in that driver.

The same key means different things in different drivers: `sslmode=require` verifies in libpq when
a root file is given but never in pgjdbc; `sslMode=trust` is MariaDB Connector/J's name for "encrypt,
verify nothing". These rules tell the drivers apart from the line (a `jdbc:postgresql:` URL), the
statement or the file (a Java source file, a properties file that names `org.postgresql`), and map
each driver's modes to the categories of `trust_settings`.

Sources, per driver (see docs/trust.md for the table of settings):
- pgjdbc: SslMode.of / LibPQFactory / DefaultJavaSSLFactory in github.com/pgjdbc/pgjdbc
  (pgjdbc/src/main/java/org/postgresql/jdbc/SslMode.java, ssl/LibPQFactory.java) and
  https://jdbc.postgresql.org/documentation/ssl/ ; the 42.2.5 changelog: "ssl=true implies
  sslmode=verify-full", sslmode=allow/prefer/require added, and they accept any certificate.
- MariaDB Connector/J: org.mariadb.jdbc.export.SslMode (disable|trust|verify-ca|verify-full and the
  aliases DISABLED/0/false, REQUIRED, VERIFY_CA, VERIFY_IDENTITY/1/true), Configuration
  .handleLegacySslSettings (useSsl -> verify-full unless trustServerCertificate or
  disableSslHostnameVerification), DefaultTlsSocketPlugin (serverSslCert / trustStore, else the
  JVM's default trust store) in github.com/mariadb-corporation/mariadb-connector-j;
  https://mariadb.com/kb/en/about-mariadb-connector-j/ (connection parameters).
- MySQL Connector/J: https://dev.mysql.com/doc/connector-j/en/connector-j-connp-props-security.html
  (sslMode DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY replaces useSSL, requireSSL and
  verifyServerCertificate) and .../connector-j-server-authentication.html (verification only for
  VERIFY_CA / VERIFY_IDENTITY, or legacy useSSL and verifyServerCertificate both true; with no
  trustCertificateKeyStoreUrl Java uses its default cacerts).
- MySQL / MariaDB option files: option prefixes --skip-/--disable- (off), --enable- (on), --loose-
  (no error when unknown), --maximum- (a limit, not a value): "Program Option Modifiers" in the MySQL
  Reference Manual (https://dev.mysql.com/doc/refman/8.4/en/option-modifiers.html) and MariaDB's
  "mariadbd Options" / "Configuring MariaDB with Option Files" (Option Prefixes).
- mysql-connector-python: MySQLSocket.build_ssl_context in github.com/mysql/mysql-connector-python
  (lib/mysql/connector/network.py): CERT_REQUIRED only with ssl_verify_cert=True (CERT_OPTIONAL,
  which a client treats as required, with ssl_verify_identity=True), else CERT_NONE even with
  ssl_ca; the OS default CAs are loaded too.
- PyMySQL: Connection.__init__ / _create_ssl_ctx in github.com/PyMySQL/PyMySQL: the ssl_ca=
  keyword alone gives verify_mode False (CERT_NONE); an ssl={'ca': ...} dict without verify_mode
  verifies.
- The JVM's default trust store (JSSE): javax.net.ssl.trustStore, else <java-home>/lib/security/
  jssecacerts, else .../cacerts: "Creating an X509TrustManager" in the JSSE Reference Guide
  (https://docs.oracle.com/en/java/javase/21/security/java-secure-socket-extension-jsse-reference-guide.html)
  and OpenJDK's sun.security.ssl.TrustStoreManager (TrustStoreDescriptor: "The preference of the
  default trusted KeyStore").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Category names are those of trust_settings (kept as literals to avoid an import cycle).
VERIFY = "verify"
NO_VERIFICATION = "no-verification"
FALLBACK = "plaintext-fallback"
NO_TLS = "no-tls"

JVM_STORE = "jvm"  # Setting.store: the client verifies against the JVM's trust store

PGJDBC = "pgjdbc"
MARIADB_J = "mariadb-connector-j"
MYSQL_J = "mysql-connector-j"
MYSQL_PY = "mysql-connector-python"
PYMYSQL = "pymysql"

_JAVA_EXTS = frozenset({".java", ".kt", ".kts", ".scala", ".groovy", ".clj"})
_CONFIG_EXTS = frozenset({".properties", ".yaml", ".yml", ".xml", ".conf", ".json", ".toml", ".ini"})


@dataclass(frozen=True)
class FileHints:
    """What the whole file says about its drivers (used when a line alone does not say)."""

    java: bool  # Java ecosystem source
    pgjdbc: bool
    mariadb_j: bool
    mysql_j: bool
    python_mysql: str  # MYSQL_PY | PYMYSQL | "" (neither, or both)

    @classmethod
    def of(cls, path: str, lower: str, text: str = "") -> FileHints:
        ext = PurePosixPath(path).suffix.lower()
        java = ext in _JAVA_EXTS
        java_cfg = java or ext in _CONFIG_EXTS or PurePosixPath(path).name.lower() == "jvm.options"
        # In Java source, lower-case sslmode / sslrootcert are pgjdbc's keys (Connector/J: sslMode).
        pg_keys = java and ("sslmode" in text or "sslrootcert" in text)
        pg = pg_keys or (java_cfg and ("jdbc:postgresql" in lower or "org.postgresql" in lower))
        maria = "jdbc:mariadb" in lower or "org.mariadb.jdbc" in lower
        mysql = "jdbc:mysql" in lower or "com.mysql" in lower
        py = ""
        if ext == ".py":
            connector = "mysql.connector" in lower or "mysqlconnector" in lower
            pym = "pymysql" in lower
            py = MYSQL_PY if connector and not pym else PYMYSQL if pym and not connector else ""
        return cls(java, pg, maria, mysql, py)


def jdbc_driver(line_lower: str, hints: FileHints) -> str | None:
    """The JDBC driver a line configures: its URL first, else the file's only JDBC driver."""
    if "jdbc:postgresql" in line_lower:
        return PGJDBC
    if "jdbc:mariadb" in line_lower:
        return MARIADB_J
    if "jdbc:mysql" in line_lower:
        return MYSQL_J  # MariaDB Connector/J takes jdbc:mysql only with permitMysqlScheme
    if "postgresql://" in line_lower or "postgres://" in line_lower or "mysql://" in line_lower:
        return None  # a libpq / Python / Node URL, not JDBC
    found = [
        d for d, on in ((PGJDBC, hints.pgjdbc), (MARIADB_J, hints.mariadb_j), (MYSQL_J, hints.mysql_j)) if on
    ]
    return found[0] if len(found) == 1 else None


def python_mysql_client(statement_lower: str, hints: FileHints) -> str:
    """mysql-connector-python or PyMySQL: the statement's module first, else the file's."""
    if "mysql.connector" in statement_lower or "mysqlconnector" in statement_lower:
        return MYSQL_PY
    if "pymysql" in statement_lower:
        return PYMYSQL
    return hints.python_mysql or PYMYSQL


# --- pgjdbc -------------------------------------------------------------------------------------

_FACTORY = re.compile(r"sslfactory\s*[\"']?\s*[=:,]\s*[\"']?\s*([\w.$]+)", re.I)
DEFAULT_JAVA_FACTORY = "org.postgresql.ssl.DefaultJavaSSLFactory"
NON_VALIDATING_FACTORY = "org.postgresql.ssl.NonValidatingFactory"
_LIBPQ_FACTORIES = frozenset({"org.postgresql.ssl.LibPQFactory", "org.postgresql.ssl.jdbc4.LibPQFactory"})


def pgjdbc_factory(statement: str) -> str | None:
    """The sslfactory class named in a statement, when one is."""
    m = _FACTORY.search(statement)
    return m.group(1) if m else None


def pgjdbc_mode(mode: str, factory: str | None) -> tuple[str, str, str]:
    """(category, store, note) of a pgjdbc sslmode (`verify-full` for ssl=true) with its factory."""
    if mode == "disable":
        return NO_TLS, "", ""
    if factory and factory.endswith("NonValidatingFactory"):
        return NO_VERIFICATION, "", "pgjdbc's NonValidatingFactory accepts any certificate"
    if factory and factory.endswith("DefaultJavaSSLFactory"):
        if mode == "allow":
            return (
                FALLBACK,
                JVM_STORE,
                "pgjdbc allow: plaintext first; where the server demands TLS, DefaultJavaSSLFactory "
                "verifies against the JVM trust store",
            )
        return (
            VERIFY,
            JVM_STORE,
            "DefaultJavaSSLFactory verifies against the JVM trust store (javax.net.ssl.trustStore, "
            "else the JDK's jssecacerts, else its cacerts), whatever the sslmode; sslrootcert is not read",
        )
    if factory and factory not in _LIBPQ_FACTORIES:
        return VERIFY, "custom", f"custom sslfactory {factory}: rdsca cannot tell what it trusts"
    if mode in ("verify-ca", "verify-full"):
        return VERIFY, "", ""
    if mode in ("require", "prefer", "allow"):
        return (
            NO_VERIFICATION,
            "",
            f"pgjdbc sslmode={mode} accepts any certificate, even with sslrootcert (unlike libpq); "
            "only verify-ca / verify-full verify",
        )
    return VERIFY, "", ""


# --- Connector/J ------------------------------------------------------------------------------

_MARIADB_MODES = {
    "disable": NO_TLS,
    "disabled": NO_TLS,
    "0": NO_TLS,
    "false": NO_TLS,
    "trust": NO_VERIFICATION,
    "required": NO_VERIFICATION,
    "verify-ca": VERIFY,
    "verify_ca": VERIFY,
    "verify-full": VERIFY,
    "verify_identity": VERIFY,
    "1": VERIFY,
    "true": VERIFY,
}
_MYSQL_J_MODES = {
    "disabled": NO_TLS,
    "preferred": FALLBACK,
    "required": NO_VERIFICATION,
    "verify_ca": VERIFY,
    "verify_identity": VERIFY,
}


def connector_j_mode(driver: str, value: str) -> tuple[str, str]:
    """(category, note) of sslMode=value in MariaDB or MySQL Connector/J."""
    v = value.lower()
    if driver == MARIADB_J:
        category = _MARIADB_MODES.get(v, VERIFY)
        note = (
            "MariaDB Connector/J sslMode=trust encrypts but accepts any certificate"
            if category == NO_VERIFICATION
            else ""
        )
        return category, note
    category = _MYSQL_J_MODES.get(v.replace("-", "_"), VERIFY)
    note = {
        FALLBACK: "PREFERRED encrypts without verifying, plaintext when the server has no TLS",
        NO_VERIFICATION: "REQUIRED encrypts but accepts any certificate",
    }.get(category, "")
    return category, note


_USE_SSL = re.compile(r"(?<![\w.])useSSL\s*[\"']?\s*[=:]\s*[\"']?(true|false|1|0)\b", re.I)
_MODE_KEY = re.compile(r"sslMode\s*[\"']?\s*[=:]", re.I)
_OFF_KEYS = re.compile(r"verifyServerCertificate\s*=\s*false|trustServerCertificate\s*=\s*true", re.I)
_HOST_OFF = re.compile(r"disableSslHostnameVerification\s*=\s*true", re.I)


def legacy_use_ssl(line: str, driver: str) -> tuple[str, str, str] | None:
    """(mode text, category, note) of a Connector/J `useSSL=` with no sslMode on the line."""
    m = _USE_SSL.search(line)
    if not m or _MODE_KEY.search(line) or _OFF_KEYS.search(line):
        return None  # sslMode wins; the 'verify off' rule reports trust/verify=false
    on = m.group(1).lower() in ("true", "1")
    if not on:
        return m.group(0), NO_TLS, ""
    if driver == MARIADB_J:
        which = "verify-ca" if _HOST_OFF.search(line) else "verify-full"
        return m.group(0), VERIFY, f"MariaDB Connector/J reads useSsl=true as sslMode={which}"
    return (
        m.group(0),
        VERIFY,
        "useSSL=true: Connector/J 5.1 verifies by default (verifyServerCertificate=true); 8.0+ "
        "verifies only with verifyServerCertificate=true. Assumed to verify",
    )


# --- MySQL / MariaDB option files and command lines ---------------------------------------------

# An option with its prefixes: loose-, then skip-/disable-/enable-/maximum-, any order the parsers
# accept (loose- first). `ssl-verify-server-cert`, `ssl` itself.
_PREFIXED_VERIFY = re.compile(
    r"(?<![\w-])(?:--)?(?P<prefix>(?:(?:loose|skip|disable|enable|maximum)[-_])*)"
    r"ssl[-_]verify[-_]server[-_]cert(?![\w-])(?:\s*=\s*[\"']?(?P<value>\w+))?",
    re.I,
)
_PREFIXED_SSL = re.compile(
    r"(?<![\w-])(?:--)?(?P<prefix>(?:(?:loose|skip|disable|enable)[-_])+)ssl(?![\w-])(?:\s*=\s*(?P<value>\w+))?",
    re.I,
)
_OFF_VALUES = frozenset({"0", "false", "off", "no"})


def option_state(prefix: str, value: str | None) -> bool | None:
    """True / False for a boolean option with MySQL's prefixes; None for `maximum-` (a limit)."""
    words = [w for w in re.split(r"[-_]", prefix.lower()) if w]
    if "maximum" in words:
        return None
    on = (value or "1").lower() not in _OFF_VALUES
    if "skip" in words or "disable" in words:
        on = not on if value else False
    return on


def verify_server_cert(line: str) -> tuple[str, bool] | None:
    """(option as written, on) for ssl-verify-server-cert with its prefixes, when the line has it."""
    m = _PREFIXED_VERIFY.search(line)
    if not m:
        return None
    state = option_state(m.group("prefix"), m.group("value"))
    return (m.group(0).strip(), state) if state is not None else None


SSL_ON_FORMS = frozenset({"ssl", "enable-ssl", "loose-ssl", "loose-enable-ssl"})
_SSL_ON = re.compile(
    r"^\s*(?:--)?(?P<prefix>(?:(?:loose|enable)[-_])*)ssl\s*(?:=\s*(?P<value>\w+))?\s*(?:[#;].*)?$", re.I
)
_SSL_ON_CLI = re.compile(r"(?<![\w-])--(?:enable-)?ssl(?![\w-])(?!\s*=\s*(?:0|off|false)\b)", re.I)


def ssl_switched_on(line: str, option_file: bool) -> str | None:
    """A bare `ssl` (`ssl=1`, `enable-ssl`) in an option file, or `--ssl` on a command line: TLS on,
    with no verification unless a CA file is given."""
    if option_file:
        m = _SSL_ON.match(line)
        if m and option_state(m.group("prefix"), m.group("value")):
            return (m.group("prefix") + "ssl").lower()
        return None
    m = _SSL_ON_CLI.search(line)
    low = line.lower()
    return m.group(0) if m and ("mysql" in low or "mariadb" in low) else None


def ssl_switched_off(line: str) -> str | None:
    """`--skip-ssl`, `disable-ssl`, `loose-skip-ssl`: TLS off in the MySQL / MariaDB clients."""
    m = _PREFIXED_SSL.search(line)
    if not m:
        return None
    state = option_state(m.group("prefix"), m.group("value"))
    return m.group(0).strip() if state is False else None


# --- Keystore passwords -------------------------------------------------------------------------

_STORE_PASSWORD = re.compile(
    r"(?:trustStorePassword|trustCertificateKeyStorePassword|trust[-_]store[-_]password)"
    r"\s*[\"']?\s*[=:]\s*[\"']?([^\"'\s&;,)}\]]+)",
    re.I,
)
_PLACEHOLDER = re.compile(r"^\$\{[^}:]+(?::-?([^}]*))?\}$")


def store_passwords(lines: list[str], hot: list[int]) -> list[tuple[int, str]]:
    """(line, password) of each keystore password setting; placeholders give their default or
    nothing."""
    out = []
    for no in hot:
        for m in _STORE_PASSWORD.finditer(lines[no - 1]):
            value = m.group(1)
            ph = _PLACEHOLDER.match(value)
            if ph:
                if not ph.group(1):
                    continue
                value = ph.group(1)
            out.append((no, value))
    return out


# --- MariaDB Connector/J's version, from the build file beside the setting ------------------------

_BUILD_FILES = ("pom.xml", "build.gradle", "build.gradle.kts")
_POM_DEP = re.compile(
    r"<artifactId>\s*mariadb-java-client\s*</artifactId>\s*(?:<[^>]+>[^<]*</[^>]+>\s*)*?"
    r"<version>\s*([^<\s]+)\s*</version>",
    re.S,
)
_GRADLE_DEP = re.compile(r"""org\.mariadb\.jdbc:mariadb-java-client:([\w.${}-]+)""")
_POM_PROPERTY = re.compile(r"<([\w.-]+)>\s*([\d][\w.-]*)\s*</\1>")


def mariadb_j_version(base: Path, rel: str) -> tuple[str, str] | None:
    """(version, "build-file:line") of mariadb-java-client pinned by the nearest pom.xml or
    build.gradle at or above the setting's directory, inside the scanned tree."""
    folder = PurePosixPath(rel).parent
    while True:
        for name in _BUILD_FILES:
            path = base / folder / name
            if not path.is_file() or path.stat().st_size > 4 * 1024 * 1024:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            m = _POM_DEP.search(text) or _GRADLE_DEP.search(text)
            if m:
                version = m.group(1)
                prop = re.fullmatch(r"\$\{([\w.-]+)\}", version)
                if prop:
                    props = dict(_POM_PROPERTY.findall(text))
                    version = props.get(prop.group(1), version)
                line = text.count("\n", 0, m.start(1)) + 1
                return version, f"{(folder / name).as_posix()}:{line}"
        if folder == PurePosixPath("."):
            return None
        folder = folder.parent


def major(version: str) -> int | None:
    m = re.match(r"(\d+)\.", version)
    return int(m.group(1)) if m else None
