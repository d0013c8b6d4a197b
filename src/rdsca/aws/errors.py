"""Turn botocore exceptions into one line a person can act on."""

from __future__ import annotations

import botocore.exceptions as bce
from botocore.parsers import ResponseParserError

# Everything a botocore call raises for a failed call. ResponseParserError (an answer that is not
# an AWS response: an HTML error page, a truncated body) lives in botocore.parsers and is not a
# BotoCoreError, so it is named here and every caller catches this tuple.
AWS_ERRORS: tuple[type[Exception], ...] = (bce.BotoCoreError, bce.ClientError, ResponseParserError)

# What botocore's parsers raise, besides ResponseParserError, on a reply that is well-formed but no
# AWS response (a captive portal's or a proxy's XHTML page with status 200): the query parser looks
# up `<Action>Result` and raises KeyError when it is not there (botocore/parsers.py,
# QueryParser._find_result_wrapped_shape); other shapes of foreign XML end in the others.
PARSE_SLIPS: tuple[type[Exception], ...] = (KeyError, IndexError, AttributeError, TypeError, ValueError)


def not_an_answer(exc: BaseException) -> ResponseParserError | None:
    """`exc` as the ResponseParserError it is when botocore's parser raised it (None otherwise: a
    KeyError of rdsca's own, or a TypeError of a wrong call, stays what it is)."""
    if not isinstance(exc, PARSE_SLIPS):
        return None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == "botocore.parsers":
            return ResponseParserError(f"not an AWS response ({type(exc).__name__}: {exc})")
        tb = tb.tb_next
    return None


_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "RequestExpired",
        "InvalidAccessKeyId",
    }
)


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, bce.ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "") or None
    return None


def is_credentials_error(exc: BaseException) -> bool:
    return isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError) or (
        error_code(exc) in _CREDENTIAL_CODES
    )


def describe_error(exc: BaseException) -> str:
    """`AccessDenied: User is not authorized ...` / `cannot reach https://...` / ..."""
    if isinstance(exc, bce.ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code") or "Error"
        message = (err.get("Message") or "").strip()
        if code in _CREDENTIAL_CODES:
            return f"{code}: credentials expired or invalid; refresh them (aws sso login, new keys)"
        return f"{code}: {message}" if message else str(code)
    if isinstance(exc, bce.NoCredentialsError):
        return "no AWS credentials found (set a profile, AWS_PROFILE or AWS_ACCESS_KEY_ID)"
    if isinstance(exc, bce.EndpointConnectionError):
        return f"cannot reach {exc.kwargs.get('endpoint_url', 'the endpoint')}"
    if isinstance(exc, bce.ConnectTimeoutError | bce.ReadTimeoutError):
        return f"timed out talking to {exc.kwargs.get('endpoint_url', 'AWS')}"
    if isinstance(exc, ResponseParserError):
        return "the endpoint answered with something that is not an AWS response"
    if isinstance(exc, bce.ProfileNotFound):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
