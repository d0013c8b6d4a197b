"""Infrastructure as code that pins an RDS CA: find each pin and say what the next apply does.

After a rotation, a pin in Terraform, Pulumi, CloudFormation/CDK, Crossplane or ACK sets the old
CA back at the next apply (or the controller's next reconcile), or fails that apply when the old
CA is retired. `scan.scan_tree` finds the pins (one scanner module per tool), `verdict.judge`
says what happens to each (pure; `now` is passed in), and `patch.unified_diff` moves them to the
target CA.
"""

from __future__ import annotations
