"""Logging for the CLI: levels from the flags, and secrets redacted from every record.

With --debug, botocore logs request headers and bodies; session tokens, signatures, assumed-role
keys and DSN passwords must still never reach the terminal or a log file.
"""

from __future__ import annotations

import logging
import re
import sys

_HEADERS = r"x-amz-security-token|authorization"
_FIELDS = r"aws_session_token|sessiontoken|secretaccesskey|aws_secret_access_key|password"
_SECRETS = (
    re.compile(rf"(?i)((?:{_HEADERS})['\"]?\s*:\s*b?['\"])([^'\"]+)"),  # a header value, quoted
    re.compile(rf"(?i)((?:{_FIELDS})['\"]?\s*[:=]\s*b?['\"]?)([^'\",\s}}&]+)"),  # key=value, "key": "value"
    re.compile(r"(?i)(<(?:SecretAccessKey|SessionToken)>)([^<]+)"),  # an STS answer
    re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)"),  # user:password@host in a URL or DSN
)


def redact(text: str) -> str:
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + "***" + (m.group(3) if m.lastindex == 3 else ""), text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def configure(debug: bool, verbose: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if debug else logging.WARNING)
