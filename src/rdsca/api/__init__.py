"""rdsca as a library: one function per command's job, each returning a frozen result.

One module per capability (audit, notices, readiness, rotation, report, iac); import the module and
call its functions:

    from rdsca.api import audit, readiness, rotation, report, iac

    result = audit.audit(targets)                  # rdsca audit
    plan = rotation.plan(resolve, "rds-ca-rsa2048-g1", policy, scope, now)

Nothing is imported here (a command pays only for what it uses, and `rdsca.api.audit` is the
module, never a function of the same name). Render a result with
`rdsca.report.registry.render(result, fmt)` after importing the renderers of its kind; docs/api.md
has the public functions, their result types and three worked examples. `rotation` names its whole
API in `__all__`; its parts (runs, defaults, targets, target_ca) are where the code lives.
"""
