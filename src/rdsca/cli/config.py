"""`rdsca.toml`: defaults for the flags people type every time (accounts, role, regions, waves...).

The file is looked up in the working directory, then in the user's config directory
(`platformdirs.user_config_dir("rdsca")`, e.g. ~/.config/rdsca/rdsca.toml); `RDSCA_CONFIG` names
one explicitly. Its keys become click defaults for every command that has a parameter of that
name, so a flag or environment variable given on the command line always wins.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from platformdirs import user_config_dir

from rdsca.errors import ConfigError
from rdsca.files import CONFIG_LIMIT, read_text_input
from rdsca.words import plural

log = logging.getLogger(__name__)

CONFIG_NAME = "rdsca.toml"
ENV_VAR = "RDSCA_CONFIG"

# key -> (type, click parameter name it sets)
KEYS: dict[str, tuple[type, str]] = {
    "accounts": (list, "accounts"),
    "role_name": (str, "role_name"),
    "regions": (list, "regions"),
    "profiles": (list, "profiles"),
    "endpoint_url": (str, "endpoint_url"),
    "warn_days": (int, "warn_days"),
    "wave_tag": (str, "wave_tag"),
    "wave_order": (list, "wave_order"),
}


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    values: Mapping[str, Any] = field(default_factory=dict)


def candidates(cwd: Path | None = None) -> list[Path]:
    """Where rdsca looks, first match wins."""
    return [(cwd or Path.cwd()) / CONFIG_NAME, Path(user_config_dir("rdsca")) / CONFIG_NAME]


def find(cwd: Path | None = None, environ: Mapping[str, str] = os.environ) -> Path | None:
    explicit = environ.get(ENV_VAR)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.exists():  # a directory or a FIFO: `load` says what it is instead
            raise ConfigError(f"{ENV_VAR}={explicit}: no such file")
        return path
    return next((p for p in candidates(cwd) if p.is_file()), None)


def _check(path: Path, key: str, value: Any) -> Any:
    kind = KEYS[key][0]
    if kind is list:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise ConfigError(f'{path}: {key} must be a list of strings, for example {key} = ["a", "b"]')
        return [str(v) for v in value]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigError(f"{path}: {key} must be a whole number of days, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{path}: {key} must be a string, got {value!r}")
    return value


def load(path: Path) -> Config:
    text = read_text_input(path, what="", limit=CONFIG_LIMIT)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        keys = plural(len(unknown), "key")
        raise ConfigError(f"{path}: unknown {keys} {', '.join(unknown)}; known: {', '.join(KEYS)}")
    return Config(path, {k: _check(path, k, v) for k, v in data.items()})


def _commands(
    group: click.Command, ctx: click.Context, prefix: tuple[str, ...] = (), only: str | None = None
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    if isinstance(group, click.Group):
        for name in [only] if only else group.list_commands(ctx):
            cmd = group.get_command(ctx, name)  # the group loads its commands lazily
            if cmd is not None:
                yield (*prefix, name), cmd
                yield from _commands(cmd, ctx, (*prefix, name))


def default_map(
    group: click.Command, config: Config, ctx: click.Context, only: str | None = None
) -> dict[str, Any]:
    """click's `default_map` for the group (or its subcommand `only`): each key given to every
    command with that parameter."""
    out: dict[str, Any] = {}
    for path, cmd in _commands(group, ctx, only=only):
        defaults: dict[str, Any] = {}
        for param in cmd.params:
            for key, (_, name) in KEYS.items():
                if param.name == name and key in config.values:
                    value = config.values[key]
                    multiple = getattr(param, "multiple", False) or param.nargs == -1
                    defaults[name] = value if multiple or not isinstance(value, list) else ",".join(value)
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node.setdefault(path[-1], {}).update(defaults)
    return out


def apply(ctx: click.Context) -> None:
    """Give the group's context the config file's defaults (unless a caller set a default_map)."""
    if ctx.default_map is not None or not isinstance(ctx.command, click.Group):
        return
    path = find()
    if path is None:
        return
    config = load(path)
    log.info("using config %s (%s)", path, ", ".join(config.values) or "empty")
    ctx.default_map = default_map(ctx.command, config, ctx, only=ctx.invoked_subcommand)
