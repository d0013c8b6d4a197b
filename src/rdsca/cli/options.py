"""Flags shared by many commands, declared once (the output flags: rdsca.cli.output)."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from rdsca.catalog import Catalog, load_catalog
from rdsca.cli.completion import complete_regions
from rdsca.errors import ConfigError
from rdsca.files import PASSWORD_LIMIT, check_input, read_text_input

F = TypeVar("F", bound=Callable[..., Any])


class FiniteFloat(click.FloatRange):
    """A number in a range that is also finite: click.FloatRange lets `nan` and `inf` through
    (nan compares false with every bound), and a poll interval or timeout of nan or inf would
    crash or hang the command. Use it for every float option."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def _split_csv(values: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return tuple(out)


@dataclass(frozen=True)
class AwsOptions:
    """The standard AWS inputs of every command that talks to AWS."""

    profiles: tuple[str, ...]
    regions: tuple[str, ...]
    accounts: tuple[str, ...]
    role_name: str | None
    org: bool
    endpoint_url: str | None
    read_timeout: float = 30.0


@dataclass(frozen=True)
class Selection:
    engines: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    id_globs: tuple[str, ...]


# The options of `aws_options`, in the order --help lists them.
_AWS_OPTIONS = (
    click.option(
        "--profile",
        "profiles",
        multiple=True,
        metavar="NAME",
        help="AWS profile (repeatable). Default: the standard credential chain.",
    ),
    click.option(
        "--region",
        "regions",
        multiple=True,
        metavar="REGION",
        envvar="RDSCA_REGIONS",
        shell_complete=complete_regions,
        help="Region (repeatable or comma-separated). Default: every region enabled "
        "for the account; unlike the AWS CLI, AWS_REGION, AWS_DEFAULT_REGION and the profile's "
        "region do not narrow it. Env: RDSCA_REGIONS.",
    ),
    click.option(
        "--accounts",
        "accounts",
        multiple=True,
        metavar="ID,ID",
        envvar="RDSCA_ACCOUNTS",
        help="Accounts to reach by assuming --role-name in each.",
    ),
    click.option(
        "--role-name",
        metavar="NAME",
        envvar="RDSCA_ROLE_NAME",
        help="Role assumed in each account: arn:aws:iam::<id>:role/<NAME>.",
    ),
    click.option(
        "--org", is_flag=True, help="Every active account of the AWS Organization (needs --role-name)."
    ),
    click.option(
        "--endpoint-url",
        metavar="URL",
        envvar="AWS_ENDPOINT_URL",
        help="Send AWS calls to this endpoint (a sandbox, a proxy). Env: AWS_ENDPOINT_URL.",
    ),
    click.option(
        "--read-timeout",
        type=FiniteFloat(min=0.1, max=3600),
        default=30.0,
        show_default=True,
        metavar="SECONDS",
        envvar="RDSCA_READ_TIMEOUT",
        help="Seconds to wait for AWS's reply to a read before trying it again (6 attempts in all); "
        "a change's reply: --write-timeout. Env: RDSCA_READ_TIMEOUT.",
    ),
)


def with_options(wrapper: Callable[..., Any], func: Callable[..., Any], options: Sequence[Any]) -> Any:
    """`wrapper` standing in for `func` (whose click params it keeps), with `options` (click.option
    decorators) added above them in the order given."""
    functools.update_wrapper(wrapper, func)  # keeps the click params of inner decorators
    result: Any = wrapper
    for opt in reversed(options):
        result = opt(result)
    return result


def aws_options(func: F) -> F:
    """Add --profile/--region/--accounts/--role-name/--org/--endpoint-url/--read-timeout; pass
    `aws: AwsOptions`."""

    def wrapper(
        *args: Any,
        profiles: tuple[str, ...],
        regions: Any,
        accounts: tuple[str, ...],
        role_name: str | None,
        org: bool,
        endpoint_url: str | None,
        read_timeout: float,
        **kwargs: Any,
    ) -> Any:
        if isinstance(regions, str):
            regions = (regions,)
        accts = _split_csv(accounts)
        for a in accts:
            if not (a.isdigit() and len(a) == 12):
                raise ConfigError(f"--accounts: {a!r} is not a 12-digit AWS account id")
        if (accts or org) and not role_name:
            raise ConfigError("--accounts and --org need --role-name (the role to assume in each account)")
        kwargs["aws"] = AwsOptions(
            profiles=tuple(profiles),
            regions=check_regions(regions or ()),
            accounts=accts,
            role_name=role_name,
            org=org,
            endpoint_url=check_endpoint_url(endpoint_url),
            read_timeout=read_timeout,
        )
        return func(*args, **kwargs)

    result: Any = with_options(wrapper, func, _AWS_OPTIONS)
    return result


def check_regions(values: Sequence[str], flag: str = "--region") -> tuple[str, ...]:
    """Regions from repeated or comma-separated values; an empty one is refused, not read as
    "every region" (which is what giving no --region means)."""
    for value in values:
        if not _split_csv([value]):
            raise ConfigError(f"{flag} {value!r}: empty; name a region such as us-east-1, or leave "
                              f"{flag} out for every region")  # fmt: skip
    return _split_csv(values)


def check_endpoint_url(url: str | None) -> str | None:
    """An http(s) URL with a host, or None; anything else is refused before any AWS call."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (reading it checks the port)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--endpoint-url {url!r}: expected http(s)://HOST[:PORT], e.g. http://127.0.0.1:5000"
        )
    return url


# The options of `selection_options`, in the order --help lists them.
_SELECTION_OPTIONS = (
    click.option(
        "--engine",
        "engines",
        multiple=True,
        metavar="ENGINE",
        help="Only these engines (repeatable): postgres, mysql, aurora-postgresql, docdb...",
    ),
    click.option(
        "--tag",
        "tags",
        multiple=True,
        metavar="KEY=VALUE",
        help="Only instances with this tag (repeatable; all must match).",
    ),
    click.option(
        "--id",
        "id_globs",
        multiple=True,
        metavar="GLOB",
        help="Only instance ids matching this glob (repeatable).",
    ),
)


def selection_options(func: F) -> F:
    """Add --engine/--tag/--id; pass `selection: Selection`."""

    def wrapper(
        *args: Any, engines: tuple[str, ...], tags: tuple[str, ...], id_globs: tuple[str, ...], **kwargs: Any
    ) -> Any:
        parsed: list[tuple[str, str]] = []
        for t in tags:
            key, sep, value = t.partition("=")
            if not sep or not key:
                raise ConfigError(f"--tag {t!r}: expected KEY=VALUE, for example --tag env=prod")
            parsed.append((key, value))
        kwargs["selection"] = Selection(_split_csv(engines), tuple(parsed), _split_csv(id_globs))
        return func(*args, **kwargs)

    result: Any = with_options(wrapper, func, _SELECTION_OPTIONS)
    return result


def warn_days_option(func: F) -> F:
    """Add --warn-days (the "expiring" horizon of the audit verdicts)."""
    from rdsca.assess.verdicts import DEFAULT_WARN_DAYS

    option = click.option(
        "--warn-days",
        type=click.IntRange(min=0),
        default=DEFAULT_WARN_DAYS,
        show_default=True,
        help="Instances whose CA or server certificate ends within this many days are 'expiring'.",
    )
    result: Any = option(func)
    return result


def password_options(env_help: str, file_help: str) -> Callable[[F], F]:
    """`--password-env VAR` and `--password-file FILE`, read with `read_password`."""

    def wrap(func: F) -> F:
        func = click.option(
            "--password-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE", help=file_help
        )(func)
        return click.option("--password-env", metavar="VAR", help=env_help)(func)

    return wrap


def read_password(
    password_env: str | None,
    password_file: Path | None,
    env_flag: str = "--password-env",
    file_flag: str = "--password-file",
) -> str | None:
    """A password from an environment variable or the first line of a file; never echoed.

    The flag names are those the user typed, for the error messages.
    """
    if password_env is not None and password_file:
        raise ConfigError(f"use one of {env_flag} and {file_flag}, not both")
    if password_env is not None and not password_env.strip():
        # `--password-env "$UNSET"`: the name of a variable was meant; running on without it
        # would try only the empty password and report a keystore as unknown.
        raise ConfigError(f"{env_flag} needs the name of an environment variable, not an empty string")
    if password_env:
        if password_env not in os.environ:
            raise ConfigError(f"{env_flag} {password_env}: the variable is not set")
        return os.environ[password_env]
    if password_file:
        lines = read_text_input(password_file, what=file_flag, limit=PASSWORD_LIMIT).splitlines()
        return lines[0] if lines else ""  # an empty file: the empty password
    return None


def load_catalogue(extra: Sequence[Path]) -> Catalog:
    """The built-in catalogue of RDS CAs plus the roots of `extra` PEM bundles."""
    for path in extra:
        check_input(path, what="--catalogue-bundle")
    try:
        return load_catalog(extra=extra)
    except ValueError as exc:
        raise ConfigError(f"--catalogue-bundle: not a PEM bundle ({exc})") from exc


def catalogue_options(func: F) -> F:
    """Add --catalogue-bundle (env RDSCA_CATALOGUE_BUNDLE); pass `catalog: Catalog`.

    The built-in catalogue of RDS CAs comes from AWS's published bundles; a newer bundle (a new
    region) or a test hierarchy extends it without a new release.
    """

    def wrapper(*args: Any, catalogue_bundles: tuple[Path, ...], **kwargs: Any) -> Any:
        kwargs["catalog"] = load_catalogue(catalogue_bundles)
        return func(*args, **kwargs)

    functools.update_wrapper(wrapper, func)
    result: Any = catalogue_bundle_option("catalogue_bundles")(wrapper)
    return result


def catalogue_bundle_option(param: str) -> Callable[[F], F]:
    """The --catalogue-bundle option itself, for commands that want the paths (`trust catalogue`)."""
    return click.option(
        "--catalogue-bundle",
        param,
        multiple=True,
        envvar="RDSCA_CATALOGUE_BUNDLE",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A newer AWS bundle (PEM) whose RDS CAs extend the built-in catalogue. "
        "Env: RDSCA_CATALOGUE_BUNDLE.",
    )
