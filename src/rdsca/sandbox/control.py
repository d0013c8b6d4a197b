"""Client of the sandbox control API (`/_rdsca/`), one method per endpoint.

ctl = SandboxControl("http://127.0.0.1:5000")
ctl.reset(); ctl.seed_demo()
ctl.fault("DescribeDBInstances", "Throttling", count=2)
ctl.misbehave("111111111111", "us-east-1", "orders-prod-pg", "hang")
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from rdsca.errors import ExitCode, RdscaError


class ControlError(RdscaError):
    """The sandbox refused a control request or could not be reached."""


class ControlRefused(ControlError):
    """The sandbox answered 400: the request itself was wrong (a user mistake, exit 2)."""

    exit_code = ExitCode.USAGE


class SandboxControl:
    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps({k: v for k, v in (body or {}).items() if v is not None}).encode()
        request = urllib.request.Request(
            f"{self.url}/_rdsca/{path}",
            data=data if method != "GET" else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        if method == "GET" and body:
            query = "&".join(f"{k}={v}" for k, v in body.items() if v is not None)
            request.full_url = f"{request.full_url}?{query}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            with contextlib.suppress(ValueError):
                detail = json.loads(detail).get("error", detail)
            if exc.code == 400:
                raise ControlRefused(f"sandbox {path}: {detail}") from exc
            raise ControlError(f"sandbox {method} /_rdsca/{path}: {exc.code} {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ControlError(f"sandbox at {self.url} is not reachable: {exc}") from exc

    def health(self) -> bool:
        try:
            return bool(self._call("GET", "health").get("ok"))
        except ControlError:
            return False

    def reset(self) -> None:
        """Empty the sandbox: moto state, faults, latency, counts; config back to start values."""
        self._call("POST", "reset")

    def seed_demo(self, endpoints: bool | None = None) -> dict[str, Any]:
        """The demo fleet; with TLS endpoints unless `endpoints=False`."""
        return dict(self._call("POST", "seed", {"fleet": "demo", "endpoints": endpoints}))

    def seed_synthetic(
        self,
        accounts: int | Sequence[str],
        regions: Sequence[str],
        per_region: int,
        retired_fraction: float = 0.3,
        seed: int = 1,
    ) -> dict[str, Any]:
        """accounts (a count or ids) x regions x per_region instances, some on rds-ca-2019."""
        body = {
            "fleet": "synthetic",
            "accounts": accounts if isinstance(accounts, int) else list(accounts),
            "regions": list(regions),
            "per_region": per_region,
            "retired_fraction": retired_fraction,
            "seed": seed,
        }
        return dict(self._call("POST", "seed", body))

    def fault(
        self,
        action: str,
        code: str = "Throttling",
        count: int | None = None,
        region: str | None = None,
        account: str | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Answer `action` ("*" for all) with an AWS error, `count` times (None: always)."""
        body = {
            "action": action,
            "code": code,
            "count": count,
            "region": region,
            "account": account,
            "message": message,
        }
        return dict(self._call("POST", "faults", body))

    def faults(self) -> dict[str, Any]:
        return dict(self._call("GET", "faults"))

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def latency(
        self, seconds: float, action: str = "*", region: str | None = None, account: str | None = None
    ) -> dict[str, Any]:
        """Add `seconds` before answering matching calls (0 removes the rule)."""
        body = {"seconds": seconds, "action": action, "region": region, "account": account}
        return dict(self._call("POST", "latency", body))

    def calls(self) -> dict[str, Any]:
        """{"total", "by_action": {action: n}, "calls": [{action, account, region, count}]}."""
        return dict(self._call("GET", "calls"))

    def call_count(self, action: str | None = None) -> int:
        counts = self.calls()
        return int(counts["total"] if action is None else counts["by_action"].get(action, 0))

    def reset_calls(self) -> None:
        self._call("DELETE", "calls")

    def config(self, **settings: float | str | None) -> dict[str, Any]:
        """Read (no arguments) or change reboot_seconds / modify_seconds / apply_delay_seconds;
        `profile="realistic"` (or "fast") sets all three first (`lifecycle.PROFILES`)."""
        if not settings:
            return dict(self._call("GET", "config"))
        return dict(self._call("POST", "config", dict(settings)))

    def misbehave(self, account: str, region: str, instance_id: str, mode: str | None) -> dict[str, Any]:
        """reject | hang | fail the next change of one instance; None clears and revives it."""
        body = {"account": account, "region": region, "id": instance_id, "mode": mode or "none"}
        return dict(self._call("POST", "misbehave", body))

    def maintenance_window(
        self, account: str | None = None, region: str | None = None, transition: bool = False
    ) -> list[dict[str, Any]]:
        """Apply pending CA changes and opted-in / overdue certificate actions now."""
        body = {"account": account, "region": region, "transition": transition}
        return list(self._call("POST", "maintenance-window", body)["applied"])

    def add_maintenance_action(
        self,
        account: str,
        region: str,
        instance_id: str,
        action: str,
        target_ca: str | None = None,
        auto_days: int = 14,
        forced_days: int = 45,
    ) -> dict[str, Any]:
        body = {
            "account": account,
            "region": region,
            "id": instance_id,
            "action": action,
            "target_ca": target_ca,
            "auto_days": auto_days,
            "forced_days": forced_days,
        }
        return dict(self._call("POST", "maintenance-action", body))

    def pending_reboot(
        self, account: str, region: str, instance_id: str, group: str = "parameter-group"
    ) -> dict[str, Any]:
        """Leave the instance's parameter-group (or option-group) pending-reboot until it restarts."""
        body = {"account": account, "region": region, "id": instance_id, "group": group}
        return dict(self._call("POST", "pending-reboot", body))

    def health_access(
        self, account: str, plan: str | None = None, organization_view: bool | None = None
    ) -> dict[str, Any]:
        """AWS Health of one account: `plan` "basic" answers SubscriptionRequiredException ("business"
        restores access); `organization_view` turns on the organizational view (a management account)."""
        body = {"account": account, "plan": plan, "organization_view": organization_view}
        return dict(self._call("POST", "health-access", body))

    def instances(self, account: str | None = None, region: str | None = None) -> list[dict[str, Any]]:
        body = {"account": account, "region": region}
        return list(self._call("GET", "instances", body)["instances"])

    def endpoints(self) -> list[dict[str, Any]]:
        """The TLS listeners: account, region, instance_id, engine, protocol, host, port."""
        return list(self._call("GET", "endpoints")["endpoints"])

    def pki(self) -> dict[str, Any]:
        """{"directory", "files": {name: path}, "pem": {name: text}} of the sandbox CAs."""
        return dict(self._call("GET", "pki"))
