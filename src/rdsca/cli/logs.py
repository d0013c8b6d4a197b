"""Logging for the CLI: levels from the flags, and secrets redacted from every record.

With --debug, botocore logs request headers and bodies, its canonical requests (where the session
token is a header line) and the STS answers (where assumed-role keys are). Session tokens, secret
keys, signatures, Authorization headers and database passwords must still never reach the
terminal or a log file. Two layers do it:

* patterns, for secrets in a recognisable place: header lines and dicts, query parameters,
  `key=value` / `"key": "value"` fields (libpq keyword DSNs included, quoted or not), STS XML,
  and the password of every `scheme://user:password@host` URL, even one with `@`, `:`, `/` or `#`
  in it (everything up to the last `@` of the URL is taken as the password);
* literal values: the secrets of the environment (`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
  `PGPASSWORD`, `MYSQL_PWD`, any `*PASSWORD*` / `*SECRET*` / `*TOKEN*` variable), the values
  registered with `register_secret` / `register_credentials`, and every token, key or password a
  pattern has seen in an earlier record (an assumed role's keys are learnt from the STS answer
  that botocore logs before using them). These are replaced wherever they appear afterwards.

The handler's formatter redacts the whole formatted text, tracebacks included, and `configure`
makes the uncaught-exception hook (`--debug` lets errors escape with their traceback) redact too.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from collections.abc import Mapping
from types import TracebackType

from rdsca.redaction import (  # noqa: F401  (re-exported: the CLI's commands register secrets here)
    MASK,
    known_secrets,
    register_credentials,
    register_secret,
    register_secrets,
)

_QUOTED = r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\""
_BARE = r"(?!\*\*\*)[^'\"\s&]+"  # to the next space, quote or & (a query string's next field)
_BYTES = r"(?:b(?=['\"]))?"  # b'...' in a repr
_FIELDS = (
    r"aws_session_token|aws_security_token|security_token|session_token|sessiontoken"
    r"|aws_secret_access_key|secret_access_key|secretaccesskey|secret_key"
    r"|password|passwd|(?<![a-z0-9])pwd|(?<![a-z0-9])pw"
)

# (pattern, learn): `val` is the secret, `pre` / `post` are kept; `learn` registers what it finds.
_PATTERNS: tuple[tuple[re.Pattern[str], bool], ...] = (
    # 'X-Amz-Security-Token': b'...' in a header dict
    (re.compile(r"(?i)(?P<pre>x-amz-security-token['\"]?\s*:\s*b?['\"])(?P<val>[^'\"]+)"), True),
    # x-amz-security-token:... (canonical request), X-Amz-Security-Token=... (presigned URL)
    (re.compile(r"(?i)(?P<pre>x-amz-security-token\s*[:=]\s*)(?P<val>(?!b?['\"])" + _BARE + ")"), True),
    # 'Authorization': b'AWS4-HMAC-SHA256 Credential=..., Signature=...'
    (re.compile(r"(?i)(?P<pre>\bauthorization['\"]?\s*:\s*b?['\"])(?P<val>[^'\"]+)"), False),
    # Authorization: AWS4-HMAC-SHA256 ... (a header line): the rest of the line
    (re.compile(r"(?im)(?P<pre>\bauthorization\s*[:=][ \t]*)(?P<val>(?!b?['\"]|\*\*\*)[^\r\n]+)"), False),
    # Signature=..., X-Amz-Signature=..., botocore's "Signature:\n<hex>"
    (re.compile(r"(?i)(?P<pre>\b(?:x-amz-)?signature\s*[:=]\s*)(?P<val>[0-9a-f]{16,})"), False),
    # STS answers (XML)
    (re.compile(r"(?i)(?P<pre><(?:SecretAccessKey|SessionToken)>)(?P<val>[^<]+)"), True),
    (re.compile(r"(?i)(?P<pre><AccessKeyId>)(?P<val>[^<]+)"), False),
    # key=value, "key": "value", key='quoted value', PGPASSWORD=..., MYSQL_PWD=...
    (re.compile(rf"(?i)(?P<pre>(?:{_FIELDS})['\"]?\s*[:=]\s*{_BYTES})(?P<val>{_QUOTED}|{_BARE})"), True),
    (
        re.compile(
            rf"(?i)(?P<pre>(?:aws_)?access_?key_?id['\"]?\s*[:=]\s*{_BYTES})(?P<val>{_QUOTED}|{_BARE})"
        ),
        False,
    ),
    # scheme://user:password@host: the password runs to the last @ of the URL (p@ss@host)
    (re.compile(r"(?i)(?P<pre>\b[a-z][a-z0-9+.\-]*://[^\s:/@'\"]*:)(?P<val>\S*)(?P<post>@)"), True),
)

_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "PGPASSWORD", "MYSQL_PWD")
_SECRET_ENV_NAME = re.compile(r"(?i)password|passwd|secret|token|pwd$|pw$")
_NOT_SECRET_ENV = {"PWD", "OLDPWD"}


def register_environment(environ: Mapping[str, str] | None = None) -> None:
    """The secrets of the environment: AWS keys and tokens, database passwords."""
    env = os.environ if environ is None else environ
    for name, value in env.items():
        if name in _SECRET_ENV or (name not in _NOT_SECRET_ENV and _SECRET_ENV_NAME.search(name)):
            register_secret(value)


def _masked(match: re.Match[str]) -> str:
    val = match.group("val")
    quoted = len(val) >= 2 and val[0] in "'\"" and val[-1] == val[0]
    return (
        match.group("pre")
        + (val[0] + MASK + val[0] if quoted else MASK)
        + (match.groupdict().get("post") or "")
    )


def learn(text: str) -> None:
    """Register every token, secret key and password the patterns find in `text`."""
    for pattern, learns in _PATTERNS:
        if learns:
            for match in pattern.finditer(text):
                val = match.group("val")
                if val[:1] in "'\"" and val[-1:] == val[:1]:
                    val = val[1:-1]
                register_secret(val)


def redact(text: str) -> str:
    """`text` with every secret a pattern recognises, and every registered value, masked."""
    for pattern, _learns in _PATTERNS:
        text = pattern.sub(_masked, text)
    for value in known_secrets():
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Learns the secrets of a record, then replaces its message with the redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        learn(message)
        record.msg = redact(message)
        record.args = None
        return True


class RedactingFormatter(logging.Formatter):
    """Redacts the formatted record, exception text and stack included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _redacting_excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    text = "".join(traceback.format_exception(kind, exc, tb))
    learn(text)
    sys.stderr.write(redact(text))
    sys.stderr.flush()


def configure(debug: bool, verbose: bool) -> None:
    register_environment()
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
    sys.excepthook = _redacting_excepthook  # `--debug` lets an error escape with its traceback
