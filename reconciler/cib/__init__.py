"""`to_cib(snapshot)`: a ClusterSnapshot as a Pacemaker CIB, for crm_simulate.

hactl's scheduler follows Pacemaker's semantics; writing the same declared and
observed state as a CIB lets Pacemaker's own scheduler (`crm_simulate -x FILE -S`)
decide on it too, which is how the differential tests hold hactl to Pacemaker and
how an operator can ask "what would Pacemaker do here?". The document validates
against pacemaker-3.9 with crm_feature_set 3.16.1, what Pacemaker 2.1.5 reads. The
mapping of each kind, and the few places it has to translate, are in
docs/scheduler.md, "Export to Pacemaker".
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, indent, tostring

from reconciler.cib.configuration import (
    crm_config,
    fencing_topology,
    nodes,
    reserve_resource_ids,
    resources,
    rsc_defaults,
)
from reconciler.cib.constraints import constraints
from reconciler.cib.document import Export
from reconciler.cib.ids import clone_id, name_of, resource_id, stonith_id
from reconciler.cib.status import status
from reconciler.snapshot import ClusterSnapshot

CRM_FEATURE_SET = "3.16.1"
VALIDATE_WITH = "pacemaker-3.9"

__all__ = ["clone_id", "name_of", "resource_id", "stonith_id", "to_cib"]


def to_cib(snapshot: ClusterSnapshot) -> str:
    """The CIB XML of the snapshot: same snapshot, same bytes."""
    export = Export(snapshot)
    reserve_resource_ids(export)
    root = Element(
        "cib",
        {
            "crm_feature_set": CRM_FEATURE_SET,
            "validate-with": VALIDATE_WITH,
            "epoch": "1",
            "num_updates": "0",
            "admin_epoch": "0",
            "have-quorum": "1" if snapshot.quorum else "0",
        },
    )
    leader = _leader(snapshot)
    if leader is not None:
        root.set("dc-uuid", leader)
    if snapshot.observed_at is not None:
        # The time Pacemaker evaluates failure timeouts at (crm_simulate reads it).
        root.set("execution-date", str(int(snapshot.observed_at)))
    configuration = SubElement(root, "configuration")
    crm_config(export, configuration)
    rsc_defaults(export, configuration)
    nodes(export, configuration)
    resources(export, configuration)
    constraints(export, configuration)
    fencing_topology(export, configuration)
    status(export, root)
    indent(root, space="  ")
    return tostring(root, encoding="unicode") + "\n"


def _leader(snapshot: ClusterSnapshot) -> str | None:
    """A clean member to stand for the DC (the first by name), if there is one."""
    return next(
        (
            name
            for name in sorted(snapshot.declared.nodes)
            if (state := snapshot.nodes.get(name)) is not None
            and state.online
            and not state.unclean
        ),
        None,
    )
