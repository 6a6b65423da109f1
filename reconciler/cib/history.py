"""Resource history: an observed instance as the operations that lead to it.

Pacemaker does not store "rsc runs on node in role R"; it replays each node's
operation history (lrm_rsc_op) to find out. So an instance is written as a successful
start (and promote, and a recurring monitor returning 0, or 8 for Promoted), or that
history ending in the failed operation: rc 1 while the failed instance counts as active
(generic error: it may still run, so it is stopped), rc 7 when not (not running).
Each operation carries Pacemaker's digest of the parameters it ran with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement

from reconciler.cib.configuration import agent_attributes
from reconciler.cib.document import Export, param_text
from reconciler.cib.ids import resource_id
from reconciler.model.kinds import OpName, Resource
from reconciler.snapshot import ResourceInstance

_TRANSITION_UUID = "00000000-0000-0000-0000-000000000000"
_ORPHAN_AGENT = {"class": "ocf", "provider": "hactl", "type": "Orphan"}


@dataclass(frozen=True, slots=True)
class _Op:
    """One lrm_rsc_op: what ran, what it returned, what was expected."""

    operation: OpName
    interval_ms: int = 0
    rc: int = 0
    expected: int = 0
    changed_at: float | None = None

    @property
    def failed(self) -> bool:
        return self.rc != self.expected


def lrm_resource(export: Export, parent: Element, instance: ResourceInstance, rid: str) -> None:
    """The instance's lrm_resource; one no longer declared is an `ocf:hactl:Orphan`
    (Pacemaker stops orphans, as hactl does)."""
    resource = export.declared.resources.get(instance.resource)
    agent = agent_attributes(resource.spec.agent) if resource is not None else _ORPHAN_AGENT
    element = SubElement(parent, "lrm_resource", {"id": rid, **agent})
    for call_id, op in enumerate(_history(export, resource, instance), start=1):
        attributes = _lrm_rsc_op(resource_id(instance.resource), op, call_id=call_id)
        if resource is not None:
            attributes["op-digest"] = _digest(resource, op.interval_ms)
        SubElement(element, "lrm_rsc_op", attributes)
        if op.failed:
            failure_id = f"{resource_id(instance.resource)}_last_failure_0"
            SubElement(element, "lrm_rsc_op", {**attributes, "id": failure_id})


def _history(export: Export, resource: Resource | None, instance: ResourceInstance) -> list[_Op]:
    """The operations, oldest first, that leave the instance in its observed role."""
    failed = instance.failed
    if failed == "start":
        return [_failure(export, resource, instance)]
    ops = [_Op("start")]
    promoted = instance.role == "Promoted" or failed == "demote"
    if promoted:
        ops.append(_Op("promote"))
    if failed == "promote":
        return [*ops, _failure(export, resource, instance)]
    role = "Promoted" if promoted else instance.role
    interval = monitor_interval(resource, role)
    if failed == "monitor":
        ops.append(_failure(export, resource, instance))
    elif interval:
        expected = 8 if promoted else 0
        ops.append(_Op("monitor", interval, rc=expected, expected=expected))
    if failed in ("demote", "stop"):
        ops.append(_failure(export, resource, instance))
    elif instance.role == "Stopped" and failed is None:
        ops.append(_Op("stop"))
    return ops


def _failure(export: Export, resource: Resource | None, instance: ResourceInstance) -> _Op:
    """The failed operation: rc 1 while the instance counts as active, else rc 7.

    It is dated at the observation: the instance is failed now, and only its failcounts
    (written with their own times) expire with failureTimeout — Pacemaker would
    otherwise forget an old failed operation, and with it the failure.
    """
    assert instance.failed is not None
    operation = instance.failed
    interval = 0
    expected = 0
    if operation == "monitor":
        interval = monitor_interval(resource, instance.role)
        expected = 8 if instance.role == "Promoted" else 0
    return _Op(
        operation,
        interval,
        rc=1 if instance.active else 7,
        expected=expected,
        changed_at=export.snapshot.observed_at,
    )


def _lrm_rsc_op(rid: str, op: _Op, *, call_id: int) -> dict[str, str]:
    key = f"{rid}_{op.operation}_{op.interval_ms}"
    transition_key = f"{call_id}:0:{op.expected}:{_TRANSITION_UUID}"
    status = 4 if op.failed and op.rc != 7 else 0
    attributes = {
        "id": key,
        "operation_key": key,
        "operation": op.operation,
        "crm_feature_set": "3.16.1",
        "transition-key": transition_key,
        "transition-magic": f"{status}:{op.rc};{transition_key}",
        "call-id": str(call_id),
        "rc-code": str(op.rc),
        "op-status": str(status),
        "interval": str(op.interval_ms),
        "exec-time": "0",
        "queue-time": "0",
    }
    if op.changed_at is not None:
        attributes["last-rc-change"] = str(int(op.changed_at))
    return attributes


def _digest(resource: Resource, interval_ms: int) -> str:
    """Pacemaker's op-digest of the parameters an operation ran with.

    Pacemaker restarts a resource whose recorded digest differs from the one its
    configuration gives now ("resource definition change"), so the history must carry
    the digest of the exported parameters: the MD5 of ` <parameters …/>` plus a
    newline, attributes sorted by name (and, for a recurring operation, its timeout).
    """
    params = {k: param_text(k, v) for k, v in resource.spec.params.items()}
    if interval_ms:
        timeout = next(
            (op.timeout for op in resource.spec.ops if op.interval.milliseconds == interval_ms),
            None,
        )
        if timeout is not None:
            params["CRM_meta_timeout"] = str(timeout.milliseconds)
    body = "".join(f' {k}="{_escape(v)}"' for k, v in sorted(params.items()))
    return hashlib.md5(f" <parameters{body}/>\n".encode(), usedforsecurity=False).hexdigest()


def _escape(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def monitor_interval(resource: Resource | None, role: str | None) -> int:
    """The recurring monitor for the role (else one for any role, else any), in ms.

    0 when the resource declares none: its monitor failures are then recorded as a
    failed probe. Pacemaker forgets the failures of an operation it does not find in
    the configuration ("action definition changed"); a probe is always there.
    """
    if resource is None:
        return 0
    monitors = [op for op in resource.spec.ops if op.name == "monitor" and op.interval.milliseconds]
    for wanted in (role, None):
        for op in monitors:
            if op.role == wanted:
                return op.interval.milliseconds
    return monitors[0].interval.milliseconds if monitors else 0
