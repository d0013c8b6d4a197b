"""Which renderer draws which result in which format: one table for every result type.

A renderer takes a result (a frozen dataclass from the library) and `RenderOptions` and returns
text. Register it beside its code with `@renders(ResultType, "json", ...)`; commands ask
`render(result, fmt)` and `formats(ResultType)` (for their `--format` choices), so adding a format
or a result is one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rdsca.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    width: int | None = None


Renderer = Callable[[Any, RenderOptions], str]
_TABLE: dict[type, dict[str, Renderer]] = {}
# The modules that register renderers: imported on first need, so that a library caller can
# render any result without knowing where its renderers live (and a command pays for its own).
RENDERER_MODULES = (
    "rdsca.report.formats",
    "rdsca.report.rotation",
    "rdsca.report.probe",
    "rdsca.report.trust",
    "rdsca.report.readiness",
    "rdsca.report.iac",
    "rdsca.report.notices",
)


def _load(kind: type) -> dict[str, Renderer]:
    if kind not in _TABLE:
        import importlib

        for name in RENDERER_MODULES:
            importlib.import_module(name)
            if kind in _TABLE:
                break
    return _TABLE.get(kind, {})


def renders(
    kind: type, *fmts: str
) -> Callable[[Callable[[T, RenderOptions], str]], Callable[[T, RenderOptions], str]]:
    """Register the decorated function as the renderer of `kind` in each of `fmts`."""

    def add(func: Callable[[T, RenderOptions], str]) -> Callable[[T, RenderOptions], str]:
        for fmt in fmts:
            _TABLE.setdefault(kind, {})[fmt] = func
        return func

    return add


def register(kind: type, fmt: str, func: Renderer) -> None:
    _TABLE.setdefault(kind, {})[fmt] = func


def formats(kind: type) -> tuple[str, ...]:
    return tuple(_load(kind))


def render(result: Any, fmt: str, options: RenderOptions | None = None) -> str:
    table = _load(type(result))
    if fmt not in table:
        known = ", ".join(table) or "none"
        raise ConfigError(f"--format {fmt}: not a format of {type(result).__name__} (known: {known})")
    return table[fmt](result, options or RenderOptions())
