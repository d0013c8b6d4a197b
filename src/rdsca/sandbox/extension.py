"""Teach moto's RDS the certificate behaviour of real AWS, without forking it.

`install()` is idempotent. It adds the missing operations to `RDSResponse`, gives `DBInstance` a
lazily computed `status`, `CertificateDetails` and `PendingModifiedValues`, and wraps the backend's
create / replica / modify / reboot so that CA ids are validated (`CertificateNotFound`, HTTP 404),
a CA change waits for the maintenance window unless applied immediately, and an immediate change
goes `modifying` -> `rebooting` -> `available` on the sandbox clock. `ModifyDBCluster` with a CA id
does the same to every member of a Multi-AZ DB cluster (engine mysql/postgres); Aurora and other
clusters refuse it, and the members of a Multi-AZ DB cluster refuse `ModifyDBInstance`, as on AWS.
DocumentDB (`Engine='docdb'`), which moto rejects, is created as a close relative and then given
its own engine.

As on AWS, CA ids are accepted in any case and stored lower-case (`RDS-CA-RSA2048-G1` works), a
no-restart change on an engine version that needs a restart is staged (`lifecycle`), and a Multi-AZ
DB cluster reports `CertificateDetails` (DescribeDBClusters; its writer's server certificate).
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any

from botocore.paginate import TokenDecoder
from moto.rds.exceptions import DBClusterNotFoundError, InvalidParameterCombination, RDSClientError
from moto.rds.models import DBCluster, DBInstance, RDSBackend
from moto.rds.responses import RDSResponse

from rdsca import engines as engine_facts
from rdsca.sandbox import certificates, engines, events, lifecycle, operations, pending

DOCDB = "docdb"
DOCDB_PORT = engine_facts.facts(DOCDB).default_port
_INSTALLED_FLAG = "_rdsca_extension_installed"


def install() -> None:
    if getattr(RDSResponse, _INSTALLED_FLAG, False):
        return
    for name, func in {**operations.OPERATIONS, **events.OPERATIONS}.items():
        setattr(RDSResponse, name, func)
    _patch(RDSResponse, "describe_db_instances", _checked_max_records)
    setattr(DBInstance, "status", property(_get_status, _set_status))  # noqa: B010
    setattr(DBInstance, "certificate_details", property(_certificate_details))  # noqa: B010
    setattr(DBInstance, "pending_modified_values", property(_pending_values))  # noqa: B010
    setattr(DBInstance, "db_parameter_group_status_list", property(pending.parameter_groups))  # noqa: B010
    setattr(DBInstance, "option_group_memberships", property(pending.option_groups))  # noqa: B010
    setattr(DBCluster, "certificate_details", property(_cluster_certificate_details))  # noqa: B010
    _patch(RDSBackend, "create_db_cluster", _create_cluster)
    _patch(RDSBackend, "create_db_instance", _create_instance)
    _patch(RDSBackend, "create_db_instance_read_replica", _create_replica)
    _patch(RDSBackend, "modify_db_instance", _modify_instance)
    _patch(RDSBackend, "modify_db_cluster", _modify_cluster)
    _patch(RDSBackend, "reboot_db_instance", _reboot_instance)
    _patch(RDSBackend, "modify_db_parameter_group", _modify_parameter_group)
    setattr(RDSResponse, _INSTALLED_FLAG, True)


def _patch(cls: type, name: str, wrapper: Callable[[Callable[..., Any]], Any]) -> None:
    setattr(cls, name, wrapper(getattr(cls, name)))


# --- DBInstance attributes read by moto's serializer ------------------------------------------


def _get_status(db: Any) -> str:
    return lifecycle.settle(db)


def _set_status(db: Any, value: str) -> None:
    db.__dict__["_rdsca_status"] = value


def _certificate_details(db: Any) -> dict[str, Any] | None:
    """The server certificate served now: after a staged change, still the old CA's."""
    lifecycle.settle(db)
    st = lifecycle.state(db)
    if not lifecycle.managed(db) or not st.served_ca or st.leaf_valid_till is None:
        return None
    return {"CAIdentifier": st.served_ca, "ValidTill": st.leaf_valid_till}


def _cluster_certificate_details(cluster: Any) -> dict[str, Any] | None:
    """A Multi-AZ DB cluster's CertificateDetails ("You can view the details about the CA for a
    Multi-AZ DB cluster by using the describe-db-clusters command": RDS User Guide, "Using SSL/TLS
    to encrypt a connection to a DB instance or cluster"): its writer's (first member's) server
    certificate. Aurora, DocumentDB and Neptune clusters carry none (their CA is per instance)."""
    if not engine_facts.is_multi_az_cluster_engine(cluster.engine):
        return None
    members = sorted(
        (
            db
            for db in list(cluster.backend.databases.values())
            if db.db_cluster_identifier == cluster.db_cluster_identifier
        ),
        key=lambda db: (not getattr(db, "is_cluster_writer", False), db.db_instance_identifier),
    )
    for db in members:
        details = _certificate_details(db)
        if details is not None:
            return details
    return None


def _pending_values(db: Any) -> dict[str, Any]:
    """The deferred settings (`pending`) and the pending CA."""
    lifecycle.settle(db)
    ca = lifecycle.state(db).pending_ca
    return {**pending.wire(db), **({"CACertificateIdentifier": ca} if ca else {})}


def _checked_max_records(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def describe_db_instances(self: Any) -> Any:
        operations.check_max_records(self.params)
        _check_marker(self.params.get("Marker"))
        return method(self)

    return describe_db_instances


def _check_marker(marker: str | None) -> None:
    """A Marker moto did not issue gets AWS's XML error, not moto's JSON one."""
    if not marker:
        return
    try:
        token = TokenDecoder().decode(marker)
    except (ValueError, TypeError, UnicodeDecodeError):
        token = None
    if not isinstance(token, dict) or "uniqueAttributes" not in token:
        raise RDSClientError("InvalidParameterValue", f"Invalid Marker: {marker}")


# --- validation ---------------------------------------------------------------------------------


def validate_ca(engine: str, version: str | None, region: str, ca_id: str) -> None:
    if not engines.managed(engine):
        raise InvalidParameterCombination(f"The engine {engine} does not use RDS certificate authorities.")
    certificates.require_listed(ca_id, region)
    if version and not engines.supports_ca(engine, version, ca_id):
        raise InvalidParameterCombination(
            f"The engine version {engine} {version} does not support the CA certificate {ca_id}."
        )


# --- backend wrappers ---------------------------------------------------------------------------


def _create_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> Any:
        if kwargs.get("engine") != DOCDB:
            return original(self, kwargs)
        version = kwargs.get("engine_version") or engines.default_version(DOCDB) or "5.0.0"
        kwargs = {
            **kwargs,
            "engine": "aurora-postgresql",
            "engine_version": version,
            "port": kwargs.get("port") or DOCDB_PORT,
        }
        cluster = original(self, kwargs)
        cluster.engine = DOCDB
        cluster.option_group_name = f"default:docdb-{version.replace('.', '-')[:3]}"
        cluster.parameter_group = f"default.docdb{'.'.join(version.split('.')[:2])}"
        return cluster

    return create_db_cluster


def _create_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        engine = db_kwargs.get("engine") or ""
        ca = _lower(db_kwargs.pop("ca_certificate_identifier", None))
        cluster = self.clusters.get(db_kwargs.get("db_cluster_identifier") or "")
        version = cluster.engine_version if cluster else db_kwargs.get("engine_version")
        if ca:
            validate_ca(engine, version, self.region_name, ca)
        db = (
            _create_docdb(original, self, db_kwargs, cluster)
            if engine == DOCDB
            else original(self, db_kwargs)
        )
        unmanaged = not engines.managed(engine)
        lifecycle.init_instance(db, None if unmanaged else ca or certificates.effective_default(self))
        db.dbi_resource_id = new_resource_id()
        return db

    return create_db_instance


def new_resource_id() -> str:
    """A DbiResourceId as AWS makes them ("db-" and 26 upper-case letters and digits), new for each
    instance created: moto gives every instance the same one, which would hide a re-creation or a
    Blue/Green switchover (the green instance takes the name, not the id)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "db-" + "".join(secrets.choice(alphabet) for _ in range(26))


def _create_docdb(
    original: Callable[..., Any], backend: RDSBackend, db_kwargs: dict[str, Any], cluster: Any
) -> Any:
    """moto rejects docdb: create a relative, then give the instance (and cluster) docdb."""
    stand_in = "aurora-postgresql" if cluster else "postgres"
    version = (cluster.engine_version if cluster else db_kwargs.get("engine_version")) or "5.0.0"
    kwargs = {**db_kwargs, "engine": stand_in, "port": db_kwargs.get("port") or DOCDB_PORT}
    kwargs.pop("engine_version", None)
    with lifecycle.LOCK:
        if cluster is not None:
            cluster.engine = stand_in
        try:
            db = original(backend, kwargs)
        finally:
            if cluster is not None:
                cluster.engine = DOCDB
    db.engine = DOCDB
    if cluster is None:
        db.engine_version = version
        db.option_group_name = f"default:docdb-{'-'.join(version.split('.')[:2])}"
    return db


def _create_replica(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create_db_instance_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        ca = _lower(db_kwargs.pop("ca_certificate_identifier", None))
        if ca:
            certificates.require_listed(ca, self.region_name)
        replica = original(self, db_kwargs)
        if not replica.availability_zone.startswith(self.region_name):
            replica.availability_zone = f"{self.region_name}a"  # moto copies the source's AZ
        replica.__dict__["_rdsca_status"] = "available"
        lifecycle.init_instance(replica, ca or certificates.effective_default(self))
        replica.dbi_resource_id = new_resource_id()
        return replica

    return create_db_instance_read_replica


def _modify_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def modify_db_instance(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> Any:
        db = self.describe_db_instances(db_instance_identifier)[0]
        ca, apply_now, restart = _ca_params(db_kwargs)
        if _multi_az_cluster(self, getattr(db, "db_cluster_identifier", None)):
            raise InvalidParameterCombination(
                f"{db_instance_identifier} is a member of a Multi-AZ DB cluster: "
                "modify the DB cluster instead (ModifyDBCluster)."
            )
        with lifecycle.LOCK:  # check and change as one step: concurrent modifies see each other
            lifecycle.require_available(db)
            if ca:
                validate_ca(db.engine, db.engine_version, self.region_name, ca)
            pending.on_modify(db, db_kwargs, apply_now)  # defer, or apply every pending value
            result = original(self, db_instance_identifier, db_kwargs)
            _ca_change(db, ca, apply_now, restart)
        return result

    return modify_db_instance


def _ca_params(kwargs: dict[str, Any]) -> tuple[str | None, bool, bool | None]:
    """Pop the CA id, ApplyImmediately and CertificateRotationRestart (checked together)."""
    ca = _lower(kwargs.pop("ca_certificate_identifier", None))
    apply_now = _truthy(kwargs.pop("apply_immediately", False))
    restart = kwargs.pop("certificate_rotation_restart", None)
    if restart is not None and not _truthy(restart) and not ca:
        raise InvalidParameterCombination(
            "CACertificateIdentifier is required to use the NoCertificateRotationRestart option"
        )
    return ca, apply_now, None if restart is None else _truthy(restart)


def _multi_az_cluster(backend: RDSBackend, cluster_id: str | None) -> Any:
    cluster = backend.clusters.get(cluster_id or "")
    multi_az = cluster is not None and engine_facts.is_multi_az_cluster_engine(cluster.engine)
    return cluster if multi_az else None


def _modify_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    """A CA change of a Multi-AZ DB cluster: validated once, then each member's instance path."""

    @functools.wraps(original)
    def modify_db_cluster(self: RDSBackend, kwargs: dict[str, Any]) -> Any:
        cluster_id = str(kwargs.get("db_cluster_identifier") or "")
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise DBClusterNotFoundError(cluster_id)
        rest = dict(kwargs)  # without the CA parameters, which moto would copy onto the cluster
        ca, apply_now, restart = _ca_params(rest)
        if not ca:
            return original(self, kwargs)
        if _multi_az_cluster(self, cluster_id) is None:
            raise InvalidParameterCombination(
                f"CACertificateIdentifier is valid for Multi-AZ DB clusters only; {cluster_id} is "
                f"{cluster.engine}: modify each DB instance (ModifyDBInstance)."
            )
        members = [
            db for db in self.databases.values() if db.db_cluster_identifier == cluster.db_cluster_identifier
        ]
        with lifecycle.LOCK:  # all members checked before any of them changes
            validate_ca(cluster.engine, cluster.engine_version, self.region_name, ca)
            for db in members:
                lifecycle.require_available(db)
            result = original(self, rest)
            for db in members:
                _ca_change(db, ca, apply_now, restart)
        return result

    return modify_db_cluster


def _ca_change(db: Any, ca: str | None, apply_now: bool, restart: bool | None) -> None:
    """A CA in the call: now, or pending with its CertificateRotationRestart; none: an
    ApplyImmediately applies the pending CA change, with the flag it was queued with."""
    st = lifecycle.state(db)
    if ca and ca == db.ca_certificate_identifier:
        st.pending_ca, st.pending_restart = None, True  # back to the current CA: nothing left to do
        return
    restart_allowed = (restart is None or restart) if ca else st.pending_restart
    target = ca or (st.pending_ca if apply_now else None)
    if target and apply_now:
        lifecycle.change_ca(db, target, restart_allowed=restart_allowed)
    elif ca:
        st.pending_ca, st.pending_restart = ca, restart_allowed


def _reboot_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def reboot_db_instance(self: RDSBackend, db_instance_identifier: str) -> Any:
        db = original(self, db_instance_identifier)
        lifecycle.reboot(db)
        return db

    return reboot_db_instance


def _modify_parameter_group(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def modify_db_parameter_group(self: RDSBackend, name: str, parameters: Any) -> Any:
        group = original(self, name, parameters)
        pending.static_change(self, name, parameters)
        return group

    return modify_db_parameter_group


def _lower(ca_id: Any) -> str | None:
    """AWS takes CA ids in any case and stores them lower-case."""
    return str(ca_id).lower() if ca_id else None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)
