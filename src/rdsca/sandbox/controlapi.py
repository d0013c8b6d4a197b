"""The control API served under /_rdsca/: JSON in, JSON out. `control.SandboxControl` is its client.

| method | path | body / answer |
|---|---|---|
| GET | health | {"ok": true} |
| POST | reset | clears moto, faults, latency, counts, misbehaviour; config back to start values |
| POST | seed | {"fleet": "demo"} or {"fleet": "synthetic", "accounts", "regions", "per_region", ...} |
|  |  | and "endpoints": open TLS listeners (default: yes for demo, no for synthetic) |
| GET/POST/DELETE | faults | list / add a rule / clear all |
| POST | latency | {"seconds", "action"?, "region"?, "account"?} |
| GET/DELETE | calls | call counts / reset them |
| GET/POST | config | {"profile"?, "reboot_seconds", "modify_seconds", "apply_delay_seconds"} |
| POST | misbehave | {"account", "region", "id", "mode": "reject"|"hang"|"fail"|null} |
| POST | maintenance-window | {"account"?, "region"?, "transition"?} -> {"applied": [...]} |
| POST | maintenance-action | {"account", "region", "id", "action", "target_ca"?, ...} |
| POST | pending-reboot | {"account", "region", "id", "group": "parameter-group"|"option-group"} |
| POST | health-access | {"account", "plan"?: "business"|"basic", "organization_view"?: bool} (AWS Health) |
| GET | instances | every instance with status, CA, pending change |
| GET | endpoints | {"endpoints": [...]}: the TLS listeners (see `endpoints.py`) |
| GET | pki | {"directory", "files", "pem"}: sandbox-roots.pem, old-bundle.pem, new-bundle.pem |
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

from rdsca.sandbox import demo, endpoints, fleet, health, lifecycle, pending, window
from rdsca.sandbox.middleware import FaultRule, LatencyRule, Registry
from rdsca.words import plural

Handler = Callable[[dict[str, Any]], Any]


class BadRequest(ValueError):
    pass


def reset_moto() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


class ControlApi:
    def __init__(self, registry: Registry, start_settings: lifecycle.Settings) -> None:
        self.registry = registry
        self.start_settings = lifecycle.Settings(**asdict(start_settings))
        self.routes: dict[tuple[str, str], Handler] = {
            ("GET", "health"): lambda _: {"ok": True},
            ("POST", "reset"): self.reset,
            ("POST", "seed"): self.seed,
            ("GET", "faults"): lambda _: self.registry.describe(),
            ("POST", "faults"): self.add_fault,
            ("DELETE", "faults"): self.clear_faults,
            ("POST", "latency"): self.latency,
            ("GET", "calls"): lambda _: self.registry.counts(),
            ("DELETE", "calls"): self.reset_calls,
            ("GET", "config"): lambda _: lifecycle.SETTINGS.as_dict(),
            ("POST", "config"): self.config,
            ("POST", "misbehave"): self.misbehave,
            ("POST", "maintenance-window"): self.maintenance_window,
            ("POST", "maintenance-action"): self.maintenance_action,
            ("POST", "pending-reboot"): self.pending_reboot,
            ("POST", "health-access"): lambda b: health.configure(
                b["account"], b.get("plan"), b.get("organization_view")
            ),
            ("GET", "instances"): lambda b: {"instances": window.listing(b.get("account"), b.get("region"))},
            ("GET", "endpoints"): lambda _: {"endpoints": [x.as_dict() for x in endpoints.listeners()]},
            ("GET", "pki"): lambda _: endpoints.pki_info(),
        }

    def __call__(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        handler = self.routes.get((method.upper(), path.strip("/")))
        if handler is None:
            return 404, _json({"error": f"no control endpoint {method} /_rdsca/{path}"})
        try:
            payload = json.loads(body) if body.strip() else {}
            if not isinstance(payload, dict):
                raise BadRequest("the body must be a JSON object")
            return 200, _json(handler(payload))
        except (BadRequest, ValueError, TypeError, KeyError) as exc:
            return 400, _json({"error": str(exc)})
        except window.NotFound as exc:
            return 404, _json({"error": str(exc)})
        except Exception as exc:  # the control API answers JSON, never an HTML traceback page
            return 500, _json({"error": f"{type(exc).__name__}: {exc}"})

    def reset(self, _: dict[str, Any]) -> dict[str, Any]:
        endpoints.close_all()
        reset_moto()
        self.registry.reset()
        for f in fields(lifecycle.Settings):
            setattr(lifecycle.SETTINGS, f.name, getattr(self.start_settings, f.name))
        return {"ok": True}

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        kind = body.get("fleet", "demo")
        if kind == "demo":
            first = demo.INSTANCES[0]
            if first.id in fleet.backend(first.account, first.region).databases:
                raise BadRequest(
                    "the demo fleet is already in this sandbox (`rdsca sandbox start` seeds it); "
                    "`rdsca sandbox seed --reset` builds it again from scratch"
                )
            seeded = fleet.seed_demo()
        elif kind == "synthetic":
            accounts = body.get("accounts", 1)
            if isinstance(accounts, int):
                accounts = fleet.synthetic_accounts(accounts)
            seeded = fleet.seed_synthetic(
                accounts,
                body.get("regions") or list(demo.REGIONS),
                int(body["per_region"]),
                float(body.get("retired_fraction", 0.3)),
                int(body.get("seed", 1)),
            )
        else:
            raise BadRequest(f"unknown fleet {kind!r}: demo or synthetic")
        opened = endpoints.listen_seeded(kind, seeded) if body.get("endpoints", kind == "demo") else []
        seconds = round(time.perf_counter() - started, 3)
        return {**asdict(seeded), "endpoints": len(opened), "seconds": seconds}

    def add_fault(self, body: dict[str, Any]) -> dict[str, Any]:
        count = body.get("count")
        rule = FaultRule(
            code=body["code"],
            action=body.get("action") or "*",
            region=body.get("region"),
            account=body.get("account"),
            count=None if count is None else int(count),
            message=body.get("message"),
        )
        self.registry.add_fault(rule)
        return self.registry.describe()

    def clear_faults(self, _: dict[str, Any]) -> dict[str, Any]:
        with self.registry.lock:
            self.registry.faults.clear()
        return self.registry.describe()

    def latency(self, body: dict[str, Any]) -> dict[str, Any]:
        self.registry.set_latency(
            LatencyRule(
                seconds=float(body["seconds"]),
                action=body.get("action") or "*",
                region=body.get("region"),
                account=body.get("account"),
            )
        )
        return self.registry.describe()

    def reset_calls(self, _: dict[str, Any]) -> dict[str, Any]:
        with self.registry.lock:
            self.registry.calls.clear()
        return self.registry.counts()

    def config(self, body: dict[str, Any]) -> dict[str, Any]:
        """A profile first (every setting), then the settings named beside it."""
        known = {f.name for f in fields(lifecycle.Settings)}
        body = dict(body)
        profile = body.pop("profile", None)
        unknown = set(body) - known
        if unknown:
            raise BadRequest(f"unknown {plural(len(unknown), 'setting')}: {', '.join(sorted(unknown))}")
        if profile is not None:
            if profile not in lifecycle.PROFILES:
                raise BadRequest(f"profile must be one of {', '.join(lifecycle.PROFILES)}")
            lifecycle.use_profile(profile)
        for name, value in body.items():
            if value is not None and float(value) < 0:
                raise BadRequest(f"{name} must not be negative")
            setattr(lifecycle.SETTINGS, name, None if value is None else float(value))
        return lifecycle.SETTINGS.as_dict()

    def misbehave(self, body: dict[str, Any]) -> dict[str, Any]:
        db = window.find(body["account"], body["region"], body["id"])
        mode = body.get("mode")
        lifecycle.set_misbehaviour(db, None if mode in (None, "", "none") else mode)
        return {
            "id": db.db_instance_identifier,
            "mode": lifecycle.state(db).misbehaviour,
            "status": lifecycle.settle(db),
        }

    def maintenance_window(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "applied": window.run_window(
                body.get("account"), body.get("region"), bool(body.get("transition", False))
            )
        }

    def maintenance_action(self, body: dict[str, Any]) -> dict[str, Any]:
        db = window.find(body["account"], body["region"], body["id"])
        action = body["action"]
        if action not in ("ca-certificate-rotation", "server-certificate-rotation"):
            raise BadRequest("action must be ca-certificate-rotation or server-certificate-rotation")
        pending = fleet.add_action(
            db,
            action,
            lifecycle.utcnow(),
            body.get("target_ca"),
            int(body.get("auto_days", 14)),
            int(body.get("forced_days", 45)),
        )
        return {"id": db.db_instance_identifier, "action": pending.action}

    def pending_reboot(self, body: dict[str, Any]) -> dict[str, Any]:
        """Leave one instance's parameter or option group pending-reboot (what a static parameter or
        a persistent option change does on AWS) until its next restart."""
        db = window.find(body["account"], body["region"], body["id"])
        pending.mark_pending_reboot(db, body.get("group") or pending.PARAMETER_GROUP)
        return {"id": db.db_instance_identifier, "reboot_groups": sorted(lifecycle.state(db).reboot_groups)}


def _json(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()
