"""TLS settings as each ecosystem writes them: Node, Python, Java, .NET, PHP, Ruby, Go, Oracle Net,
ProxySQL, and libpq's implicit root file.

The generic line rules of `trust_settings` read `sslmode=`, `ssl-ca`, `trustStore=` and the like
wherever they appear. The rules here know the drivers and frameworks around them: a `pg` connection
string that replaces the `ssl` object passed beside it, Prisma's `sslaccept`, a PHP array or a Rails
YAML file, a Go `tls=custom` registered with the CA read a few lines above, an Oracle wallet.

`find_settings(path, text)` gives this module's findings for one file. `with_ecosystems(rules)`
wraps the generic rules so that one call gives both, without two findings for one line: where an
ecosystem rule knows the driver better it replaces the generic finding on that line, otherwise a
line the generic rules already read keeps their finding only. Documentation (README, *.md, *.rst)
and lines that are only a comment configure no client: they give no finding.

Every rule module starts with a cheap test on the file name and a few lowercase keywords, so that
a file of a large tree that mentions none costs one substring search.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from rdsca.readiness.ecosystems.common import BaseRules, Found, Source
    from rdsca.readiness.trust_settings import Setting

Rules = TypeVar("Rules", bound=Callable[[str, str], "list[Setting]"])

# The rule modules import trust_settings, which wraps its rules with `with_ecosystems` when it is
# loaded: they are imported on first use, not here, so that either module can be imported first.


def _no_base(path: str, text: str) -> list[Setting]:
    return []


def _found(path: str, text: str, base: BaseRules) -> tuple[Source, list[Found]]:
    from rdsca.readiness.ecosystems.common import Source
    from rdsca.readiness.ecosystems.registry import RULES

    src = Source(path, text, base)
    out: list[Found] = []
    for rules in RULES:
        if rules.wanted(src):
            out.extend(rules.find(src))
    return src, out


def find_settings(path: str, text: str, base: BaseRules = _no_base) -> list[Setting]:
    """The ecosystem rules' findings for one file (without the generic rules' ones)."""
    return [f.setting for f in _found(path, text, base)[1]]


def merge(generic: list[Setting], mine: list[Found]) -> list[Setting]:
    """One finding per line: a replacing ecosystem finding drops the generic ones on its lines;
    any other ecosystem finding is added only where the generic rules found nothing."""
    replaced = {s.setting.line for s in mine if s.replaces}
    replaced |= {s.setting.ca_line for s in mine if s.replaces and s.setting.ca_line}
    replaced |= {line for s in mine for line in s.also_replaces}
    kept = [s for s in generic if s.line not in replaced]
    taken = {s.line for s in kept}
    seen: set[tuple[int, str]] = set()
    for f in mine:
        key = (f.setting.line, f.setting.client)
        if key in seen or (not f.replaces and f.setting.line in taken):
            continue
        seen.add(key)
        kept.append(f.setting)
    return sorted(kept, key=lambda s: (s.line, s.client))


def with_ecosystems(generic: Rules) -> Rules:
    """The generic rules followed by the ecosystem rules, merged one finding per line."""

    @wraps(generic)
    def find_all(path: str, text: str) -> list[Setting]:
        from rdsca.readiness.ecosystems.common import fix_env_refs, is_documentation

        if is_documentation(path):
            return []
        src, mine = _found(path, text, generic)
        found = merge(fix_env_refs(src, generic(path, text)), mine)
        return [s for s in found if not src.comment_line(s.line)]

    return cast("Rules", find_all)
