"""Read a file the user named as input, safely: regular files only, never more than a limit.

A FIFO would block the read forever, `/dev/zero` would never end and a directory is not a file:
all are refused before a byte is read. A regular file larger than the limit is refused from its
size; a file that grows while being read is caught by reading one byte past the limit. Errors are
one line that names the flag or file kind the user gave (`what`), as a `ConfigError` (exit 2) or
the subclass the caller asks for. Pure: no printing.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from rdsca.errors import ConfigError, RdscaError

MiB = 1024 * 1024
PLAN_LIMIT = 64 * MiB
BUNDLE_LIMIT = 16 * MiB
JSON_LIMIT = 64 * MiB  # a saved readiness result
CONFIG_LIMIT = 1 * MiB
PASSWORD_LIMIT = 64 * 1024


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _size(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n} bytes"


def read_input(path: Path | str, *, what: str, limit: int, error: type[RdscaError] = ConfigError) -> bytes:
    """The bytes of the regular file `path` (symlinks followed), at most `limit` of them.

    `what` names the input in messages ("--bundle", "plan file"; "" for the path alone); `error`
    is the class raised.
    """
    where = Path(path).expanduser()
    label = f"{what} {path}" if what else str(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting for one.
        fd = os.open(where, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{label}: no such file") from None
    except IsADirectoryError:
        raise error(f"{label}: is a directory, not a file") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
            raise error(f"{label}: not a regular file; give a file") from None
        raise error(f"{label}: cannot read it: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind == "a directory":
            raise error(f"{label}: is a directory, not a file")
        if kind is not None:
            raise error(f"{label}: is {kind}, not a regular file; give a file")
        if info.st_size > limit:
            raise error(f"{label}: is {_size(info.st_size)}, over the {_size(limit)} limit")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        got = 0
        while got <= limit:  # one byte past the limit tells a file that grew while read
            chunk = os.read(fd, min(limit + 1 - got, MiB))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > limit:
            raise error(f"{label}: is over the {_size(limit)} limit")
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"{label}: cannot read it: {exc.strerror}") from None
    finally:
        os.close(fd)


def check_input(path: Path | str, *, what: str, error: type[RdscaError] = ConfigError) -> None:
    """Refuse, without opening it, an input that `read_input` would refuse for its kind.

    For inputs read later (after AWS calls): the user hears about a typo first.
    """
    label = f"{what} {path}" if what else str(path)
    try:
        mode = os.stat(Path(path).expanduser()).st_mode
    except FileNotFoundError:
        raise error(f"{label}: no such file") from None
    except OSError as exc:
        raise error(f"{label}: cannot read it: {exc.strerror}") from None
    kind = _kind(mode)
    if kind == "a directory":
        raise error(f"{label}: is a directory, not a file")
    if kind is not None:
        raise error(f"{label}: is {kind}, not a regular file; give a file")


def read_text_input(path: Path | str, *, what: str, limit: int, error: type[RdscaError] = ConfigError) -> str:
    """`read_input` decoded as UTF-8 (a byte-order mark is allowed); other encodings are refused."""
    data = read_input(path, what=what, limit=limit, error=error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        label = f"{what} {path}" if what else str(path)
        raise error(
            f"{label}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "is it the right file?"
        ) from None


_SQLITE_FULL = 13  # sqlite3.SQLITE_FULL: "database or disk is full"


def disk_full(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it wraps) is a full disk or quota: ENOSPC, EDQUOT, SQLITE_FULL."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(exc, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        exc = exc.__cause__
    return False
