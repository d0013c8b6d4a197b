"""Flags shared by many commands, declared once."""

from __future__ import annotations

import errno
import functools
import math
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from rdsca.catalog import Catalog, load_catalog
from rdsca.cli.completion import complete_regions
from rdsca.errors import ConfigError, RdscaError
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


@dataclass(frozen=True)
class Selection:
    engines: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    id_globs: tuple[str, ...]


def aws_options(func: F) -> F:
    """Add --profile/--region/--accounts/--role-name/--org/--endpoint-url; pass `aws: AwsOptions`."""

    options = [
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
    ]

    def wrapper(
        *args: Any,
        profiles: tuple[str, ...],
        regions: Any,
        accounts: tuple[str, ...],
        role_name: str | None,
        org: bool,
        endpoint_url: str | None,
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
        )
        return func(*args, **kwargs)

    functools.update_wrapper(wrapper, func)  # keeps the click params of inner decorators
    result: Any = wrapper
    for opt in reversed(options):
        result = opt(result)
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

    functools.update_wrapper(wrapper, func)  # keeps the click params of inner decorators
    result: Any = wrapper
    for opt in reversed(
        [
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
        ]
    ):
        result = opt(result)
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


# Words that name a format, not a file: `-o json` is the AWS CLI habit for the format.
FORMAT_WORDS = frozenset({"json", "table", "text", "yaml", "csv", "tsv", "markdown", "md", "html",
                          "prometheus", "prom"})  # fmt: skip
# The format a file's extension implies, when --format is not given (`-o audit.csv` is csv).
EXTENSIONS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown",
              ".html": "html", ".htm": "html", ".prom": "prometheus"}  # fmt: skip


def _format_choices(ctx: click.Context) -> tuple[str, ...]:
    for param in ctx.command.params:
        if param.name == "fmt" and isinstance(param.type, click.Choice):
            return tuple(str(c) for c in param.type.choices)
    return ()


def writable_file(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """A click callback: refuse an output file whose directory does not exist, or whose name is a
    bare format name (`-o json`), before any AWS call."""
    if value is None or str(value) == "-":
        return value
    if len(value.parts) == 1 and value.name.lower() in FORMAT_WORDS:
        word, choices = value.name.lower(), _format_choices(ctx)
        fmt = word if word in choices else EXTENSIONS.get(f".{word}", "table" if word == "text" else word)
        if fmt in choices:
            hint = f"did you mean --format {fmt}?"
        elif choices:
            hint = f"the format is --format ({', '.join(choices)})"
        else:
            hint = "this option names the file to write"
        raise click.BadParameter(
            f"{value.name!r} is a format name, not a file name: {hint} "
            f'(to write a file of that name, give its path: "$PWD/{value.name}")'
        )
    parent = value.expanduser().parent
    if not parent.is_dir():
        raise click.BadParameter(f"directory {parent} does not exist")
    return value


def format_of(output: Path, choices: Sequence[str], default: str) -> str:
    """The format the extension of `output` implies, else `default`; an extension that names a
    format the command cannot write is refused rather than filled with another format."""
    fmt = EXTENSIONS.get(output.suffix.lower())
    if fmt is None:
        return default
    if fmt not in choices:
        raise ConfigError(f"-o {output}: this command writes {', '.join(choices)}, not {fmt}; "
                          f"pass --format to say which")  # fmt: skip
    return fmt


def format_from_output(func: F) -> F:
    """When --format is not given, take it from the extension of the -o file: `-o audit.json` is
    json, `.csv` csv, `.md` markdown, `.html` html, `.prom` prometheus. For commands with
    `fmt` and `output` parameters (output_options adds it; a command with its own adds it too)."""

    def wrapper(*args: Any, fmt: str, output: Path | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        given = ctx.get_parameter_source("fmt") not in (None, click.core.ParameterSource.DEFAULT)
        if not given and output is not None and str(output) != "-":
            fmt = format_of(output, _format_choices(ctx), fmt)
        return func(*args, fmt=fmt, output=output, **kwargs)

    functools.update_wrapper(wrapper, func)  # keeps the click params of inner decorators
    result: Any = wrapper
    return result


def output_options(formats: Sequence[str], default: str = "table") -> Callable[[F], F]:
    """Add --format/--output; pass `fmt: str` and `output: Path | None`. Without --format, the
    extension of the --output file chooses the format (see `format_from_output`)."""

    def decorate(func: F) -> F:
        func = format_from_output(func)
        func = click.option(
            "--output",
            "-o",
            "output",
            type=click.Path(dir_okay=False, path_type=Path),
            callback=writable_file,
            help="Write to this file (atomically) instead of standard output; without --format, "
            "its extension chooses the format (.json, .csv, .md, .html, .prom).",
        )(func)
        func = click.option(
            "--format",
            "-f",
            "fmt",
            type=click.Choice(list(formats)),
            default=default,
            show_default=True,
            help="Output format.",
        )(func)
        return func

    return decorate


def emit(text: str, output: Path | None) -> None:
    """Print, or write a file atomically so that no half-written file is ever left behind."""
    if output is None or str(output) == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_atomic(output, text)


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path`; a full disk is an error (exit 1), a bad path is bad input (exit 2).

    A regular file (or a new one) is replaced atomically: a temporary file beside it, then a
    rename. A symlink is followed: its target is replaced atomically and the link stays a link.
    A FIFO or a device (/dev/stdout, a named pipe a reader waits on) is written through, never
    replaced. A new file gets mode 0666 minus the umask; an existing one keeps its mode.
    """
    path = path.expanduser()
    try:
        info = path.stat()  # follows a symlink
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"cannot write {path}: it is a directory")
    data = text.encode("utf-8")
    try:
        if info is not None and not stat.S_ISREG(info.st_mode):
            with path.open("wb") as fh:  # a FIFO or a device: write through it
                fh.write(data)
            return
        _replace_file(path.resolve() if path.is_symlink() else path, data, info)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise RdscaError(f"cannot write {path}: {exc.strerror} (disk full)") from exc
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from exc


def _replace_file(path: Path, data: bytes, info: os.stat_result | None) -> None:
    if not path.parent.is_dir():
        raise ConfigError(f"cannot write {path}: directory {path.parent} does not exist")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask, as for any new file
            break
        except FileExistsError:
            continue
    else:
        raise ConfigError(f"cannot write {path}: no free temporary name beside it")
    try:
        if info is not None:
            os.fchmod(fd, stat.S_IMODE(info.st_mode))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
