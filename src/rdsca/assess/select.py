"""Pure selection of instances by engine, tag and id glob."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fnmatch import fnmatchcase

from rdsca.model import Fleet, Instance


def matches(
    inst: Instance,
    engines: Sequence[str] = (),
    tags: Sequence[tuple[str, str]] = (),
    id_globs: Sequence[str] = (),
) -> bool:
    if engines and inst.engine not in engines:
        return False
    if any(inst.tags.get(k) != v for k, v in tags):
        return False
    return not id_globs or any(fnmatchcase(inst.id, g) for g in id_globs)


def select(
    fleet: Fleet,
    engines: Sequence[str] = (),
    tags: Sequence[tuple[str, str]] = (),
    id_globs: Sequence[str] = (),
) -> Fleet:
    """The same fleet with only the instances that match every given criterion."""
    kept = tuple(i for i in fleet.instances if matches(i, engines, tags, id_globs))
    return replace(fleet, instances=kept)
