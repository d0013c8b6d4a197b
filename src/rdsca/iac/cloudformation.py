"""CloudFormation templates (YAML or JSON): `CACertificateIdentifier` of AWS::RDS::DBInstance and
AWS::DocDB::DBInstance, through !Ref to a Parameter's Default, !Sub and !FindInMap.

The template is read with PyYAML's composer, which keeps CloudFormation's short tags (!Ref, !Sub)
as they are and gives every node its line; JSON templates are YAML too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from rdsca.iac.model import Edit, Origin, Pin, Tool

TYPES = ("AWS::RDS::DBInstance", "AWS::DocDB::DBInstance")
ATTR = "CACertificateIdentifier"
MARKERS = (ATTR,)


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    return None


def _items(node: yaml.Node | None) -> Iterator[tuple[str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                yield k.value, v


def _scalar(node: yaml.Node | None) -> str | None:
    plain = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:null")
    if isinstance(node, yaml.ScalarNode) and node.tag in plain:
        return str(node.value)
    return None


def _intrinsic(node: yaml.Node) -> tuple[str, yaml.Node] | None:
    """('Ref', arg) for `!Ref X` and `{"Ref": "X"}`; ('Sub', ...), ('FindInMap', ...) alike."""
    if node.tag.startswith("!"):
        name = node.tag[1:]
        if isinstance(node, yaml.ScalarNode):
            node = yaml.ScalarNode("tag:yaml.org,2002:str", node.value, node.start_mark, node.end_mark)
        elif isinstance(node, yaml.SequenceNode):
            node = yaml.SequenceNode("tag:yaml.org,2002:seq", node.value, node.start_mark, node.end_mark)
        return name, node
    if isinstance(node, yaml.MappingNode) and len(node.value) == 1:
        key, value = node.value[0]
        if isinstance(key, yaml.ScalarNode) and (key.value == "Ref" or key.value.startswith("Fn::")):
            return key.value.removeprefix("Fn::"), value
    return None


@dataclass(frozen=True)
class Value:
    value: str | None
    origin: Origin
    detail: str
    edit: Edit | None
    note: str = ""


class Template:
    def __init__(self, rel: str, root: yaml.Node) -> None:
        self.rel, self.root = rel, root

    def edit(self, node: yaml.Node, old: str) -> Edit:
        return Edit(self.rel, node.start_mark.line + 1, old, "{ca}", node.start_mark.column)

    def parameter(self, name: str) -> list[Value]:
        if name.startswith("AWS::"):
            return [Value(None, Origin.UNRESOLVED, "", None, f"pseudo parameter {name}")]
        param = _get(_get(self.root, "Parameters"), name)
        default = _get(param, "Default")
        value = _scalar(default)
        if default is None or value is None:
            note = f"parameter {name} has no default: set at deploy time"
            return [Value(None, Origin.UNRESOLVED, f"Parameters.{name}", None, note)]
        where = f"{self.rel}:{default.start_mark.line + 1} Parameters.{name}.Default"
        return [Value(value, Origin.PARAMETER_DEFAULT, where, self.edit(default, value))]

    def value(self, node: yaml.Node) -> list[Value]:
        literal = _scalar(node)
        if literal is not None:
            return [Value(literal, Origin.LITERAL, "", self.edit(node, literal))]
        fn = _intrinsic(node)
        if fn is None:
            return [Value(None, Origin.UNRESOLVED, "", None, "not a string")]
        name, arg = fn
        if name == "Ref" and _scalar(arg):
            return self.parameter(str(_scalar(arg)))
        if name == "Sub":
            return self.sub(arg)
        if name == "FindInMap" and isinstance(arg, yaml.SequenceNode) and len(arg.value) == 3:
            return self.find_in_map(arg.value)
        if name == "GetAtt" or name == "ImportValue":
            return [Value(None, Origin.COMPUTED, "", None, f"Fn::{name}")]
        return [Value(None, Origin.UNRESOLVED, "", None, f"Fn::{name}")]

    def sub(self, arg: yaml.Node) -> list[Value]:
        text = _scalar(arg)
        if text is None:
            return [Value(None, Origin.UNRESOLVED, "", None, "Fn::Sub with variables")]
        if "${" not in text:
            return [Value(text, Origin.LITERAL, "", self.edit(arg, text))]
        head, _, rest = text.partition("${")
        name, _, tail = rest.partition("}")
        if head == "" and tail == "" and "${" not in tail:
            return self.parameter(name)  # !Sub '${CaCert}' is !Ref CaCert
        values = self.parameter(name)
        if len(values) == 1 and values[0].value is not None and "${" not in tail:
            v = values[0]
            return [Value(head + str(v.value) + tail, v.origin, v.detail, None, f"Fn::Sub {text}")]
        return [Value(None, Origin.UNRESOLVED, "", None, f"Fn::Sub {text}")]

    def find_in_map(self, args: list[yaml.Node]) -> list[Value]:
        map_name = _scalar(args[0])
        mapping = _get(_get(self.root, "Mappings"), map_name or "")
        if mapping is None:
            return [Value(None, Origin.UNRESOLVED, "", None, f"mapping {map_name} not found")]
        top = self._key(args[1])
        second = self._key(args[2])
        out: list[Value] = []
        for key, entry in _items(mapping):
            if top is not None and key != top:
                continue
            for key2, leaf in _items(entry):
                value = _scalar(leaf)
                if (second is None or key2 == second) and value is not None:
                    where = f"{self.rel}:{leaf.start_mark.line + 1} Mappings.{map_name}.{key}.{key2}"
                    out.append(Value(value, Origin.MAPPING, where, self.edit(leaf, value)))
        return out or [Value(None, Origin.UNRESOLVED, "", None, f"no entry in mapping {map_name}")]

    def _key(self, node: yaml.Node) -> str | None:
        """A FindInMap key: a literal, or a parameter's default; None for any key (AWS::Region)."""
        literal = _scalar(node)
        if literal is not None:
            return literal
        fn = _intrinsic(node)
        if fn and fn[0] == "Ref" and _scalar(fn[1]):
            values = self.parameter(str(_scalar(fn[1])))
            return values[0].value
        return None

    def pins(self) -> list[Pin]:
        out: list[Pin] = []
        for logical_id, resource in _items(_get(self.root, "Resources")):
            rtype = _scalar(_get(resource, "Type"))
            props = _get(resource, "Properties")
            ca = _get(props, ATTR)
            if rtype not in TYPES or ca is None:
                continue
            ident_node = _get(props, "DBInstanceIdentifier")
            ids = tuple(v.value for v in self.value(ident_node) if v.value) if ident_node else ()
            for v in self.value(ca):
                out.append(Pin(self.rel, ca.start_mark.line + 1, Tool.CLOUDFORMATION, logical_id, str(rtype),
                               v.value, v.origin, v.detail, ids, "tree" if ids else "", note=v.note,
                               value_edit=v.edit))  # fmt: skip
        return out


def scan(rel: str, text: str) -> list[Pin]:
    """Pins in one template; [] for YAML/JSON that is not a CloudFormation template."""
    for root in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if _get(root, "Resources") is not None:
            return Template(rel, root).pins()
    return []
