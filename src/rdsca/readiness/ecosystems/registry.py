"""The rule modules, in the order their findings are listed."""

from __future__ import annotations

from rdsca.readiness.ecosystems import dotnet, golang, jvm, node, oracle, php, proxysql, python, ruby

RULES = (node, python, jvm, dotnet, php, ruby, golang, oracle, proxysql)
