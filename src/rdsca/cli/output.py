"""Where and how a command writes its result: --format/--output (the -o file's extension chooses
the format when --format is not given), and `emit`, which prints or writes the file atomically."""

from __future__ import annotations

import errno
import functools
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from rdsca.errors import ConfigError, RdscaError

F = TypeVar("F", bound=Callable[..., Any])


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
