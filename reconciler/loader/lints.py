"""Lints: configurations that load but that an experienced operator would question.

They warn and never fail: a CI pipeline may apply from a machine that has no agents
installed, and a lab cluster may run without fencing on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reconciler.agent.budget import LeaseBudget
from reconciler.agent.watchdog_timing import node_timeout, recommended_minimum
from reconciler.loader.documents import LoadedDocument
from reconciler.loader.problems import Problem
from reconciler.locate import find_agent, find_fence_driver
from reconciler.model.kinds import Cluster, FenceDevice, Location, Node, Resource

SHARED_STORAGE_AGENTS = (
    "Filesystem",
    "drbd",
    "drbddisk",
    "LVM",
    "LVM-activate",
    "iSCSILogicalUnit",
    "iscsi",
    "Raid1",
    "ZFS",
)
SECRET_WORDS = ("passw", "secret", "token")


@dataclass(frozen=True)
class LintContext:
    """What lints may know beyond the documents: the store the cluster will use."""

    store_url: str | None = None


Lint = Callable[[list[LoadedDocument], LintContext], Iterable[Problem]]


def is_secret_param(name: str) -> bool:
    """Whether a parameter holds a secret itself (not a path to one)."""
    lowered = name.lower()
    if lowered.endswith(("_file", "_script", "_path")):
        return False
    return any(word in lowered for word in SECRET_WORDS)


def _warn(doc: LoadedDocument, message: str, *path: str | int) -> Problem:
    return Problem(
        message,
        file=doc.raw.file,
        line=doc.line_of(*path),
        kind=doc.model.kind,
        name=doc.model.metadata.name,
        field=".".join(str(p) for p in path) or None,
        severity="warning",
    )


def _cluster(docs: list[LoadedDocument]) -> LoadedDocument | None:
    return next((d for d in docs if isinstance(d.model, Cluster)), None)


def fencing(docs: list[LoadedDocument], ctx: LintContext) -> Iterable[Problem]:
    cluster = _cluster(docs)
    devices = [d for d in docs if isinstance(d.model, FenceDevice)]
    stonith = cluster.model.spec.stonith if cluster and isinstance(cluster.model, Cluster) else None
    if cluster is not None and stonith is not None and not stonith.enabled:
        yield _warn(
            cluster,
            "stonith is disabled: a lost node's resources are recovered without fencing it, "
            "which can leave two active copies",
            "spec",
            "stonith",
            "enabled",
        )
        for doc in docs:
            if isinstance(doc.model, Resource) and (
                doc.model.spec.agent.rsplit(":", 1)[-1] in SHARED_STORAGE_AGENTS
            ):
                yield _warn(doc, "shared storage with stonith disabled risks data corruption")
        return
    watchdog = stonith is not None and stonith.watchdog_timeout.milliseconds > 0
    if not devices and not watchdog and cluster is not None:
        yield _warn(
            cluster,
            "stonith is enabled but no FenceDevice is declared and no watchdog: "
            "a lost node's resources will not be recovered until an operator confirms it down",
        )
    fenced = {n for d in devices if isinstance(d.model, FenceDevice) for n in d.model.spec.nodes}
    if devices:
        for doc in docs:
            if isinstance(doc.model, Node) and doc.model.metadata.name not in fenced:
                yield _warn(doc, "no FenceDevice can fence this node")


def secrets_inline(docs: list[LoadedDocument], ctx: LintContext) -> Iterable[Problem]:
    for doc in docs:
        if isinstance(doc.model, FenceDevice | Resource):
            for name in doc.model.spec.params:
                if is_secret_param(name):
                    yield _warn(
                        doc,
                        "a secret in the manifest ends up in git; prefer a *_file parameter",
                        "spec",
                        "params",
                        name,
                    )


def missing_executables(docs: list[LoadedDocument], ctx: LintContext) -> Iterable[Problem]:
    for doc in docs:
        if isinstance(doc.model, Resource) and find_agent(doc.model.spec.agent) is None:
            yield _warn(
                doc,
                f"agent {doc.model.spec.agent} is not installed on this machine",
                "spec",
                "agent",
            )
        if isinstance(doc.model, FenceDevice) and find_fence_driver(doc.model.spec.driver) is None:
            yield _warn(
                doc,
                f"fence driver {doc.model.spec.driver} is not installed on this machine",
                "spec",
                "driver",
            )


def timing(docs: list[LoadedDocument], ctx: LintContext) -> Iterable[Problem]:
    cluster = _cluster(docs)
    if cluster is None or not isinstance(cluster.model, Cluster):
        return
    t = cluster.model.spec.timing
    if 3 * t.keepalive.milliseconds > t.deadtime.milliseconds:
        yield _warn(
            cluster,
            f"keepalive ({t.keepalive}) is more than a third of deadtime ({t.deadtime}): "
            "one late refresh can cost the lease; a node then stops its resources",
            "spec",
            "timing",
            "keepalive",
        )
    if t.initdeadtime.milliseconds < 2 * t.deadtime.milliseconds:
        yield _warn(
            cluster,
            f"initdeadtime ({t.initdeadtime}) is less than twice deadtime ({t.deadtime}); "
            "peers that boot slowly may be declared dead (heartbeat recommends at least 2x)",
            "spec",
            "timing",
            "initdeadtime",
        )


def watchdog(docs: list[LoadedDocument], ctx: LintContext) -> Iterable[Problem]:
    """Watchdog fencing's rule (docs/fencing.md): a node's watchdog fires watchdogTimeout/2
    after its last good lease refresh; that must be later than its agent gives the lease
    up (fail fast), or a refresh that is merely late kills a healthy node, and fail fast
    never gets to stop its resources in order. Safety itself does not depend on it: the
    leader waits the whole watchdogTimeout after it saw the lease gone."""
    cluster = _cluster(docs)
    if cluster is None or not isinstance(cluster.model, Cluster):
        return
    spec = cluster.model.spec
    timeout = spec.stonith.watchdog_timeout
    if timeout.milliseconds <= 0:
        return
    if not spec.stonith.enabled:
        yield _warn(
            cluster,
            "watchdogTimeout has no effect while stonith is disabled",
            "spec",
            "stonith",
            "watchdogTimeout",
        )
        return
    t = spec.timing
    budget = LeaseBudget(t.deadtime.seconds, t.keepalive.seconds, t.warntime.seconds)
    gives_up = budget.give_up_at(0.0)
    if node_timeout(timeout.seconds) <= gives_up:
        yield _warn(
            cluster,
            f"watchdogTimeout ({timeout}) is too short for deadtime ({t.deadtime}): a node's "
            f"watchdog fires {node_timeout(timeout.seconds):g}s after its last good lease "
            f"refresh, before its agent would give the lease up ({gives_up:g}s), so a late "
            "refresh kills the node instead of failing over in order; use at least "
            f"{recommended_minimum(t.deadtime.seconds):g}s (2 x deadtime)",
            "spec",
            "stonith",
            "watchdogTimeout",
        )


ETCD_DEFAULT_MIN_TTL_S = 2
"""etcd's minimum lease TTL with its default timers: 1.5 x election timeout, rounded up."""


def etcd_lease_ttl(docs: list[LoadedDocument], ctx: LintContext) -> Iterable[Problem]:
    """etcd grants whole seconds, and at least its minimum TTL: a deadtime it cannot honour
    becomes a longer lease (the agent warns at start; failover then takes longer)."""
    if not (ctx.store_url or "").startswith("etcd"):
        return
    cluster = _cluster(docs)
    if cluster is None or not isinstance(cluster.model, Cluster):
        return
    deadtime = cluster.model.spec.timing.deadtime
    if deadtime.milliseconds % 1000:
        yield _warn(
            cluster,
            f"deadtime ({deadtime}) is not a whole number of seconds: etcd lease TTLs are, "
            f"so a lost node is noticed only after {-(-deadtime.milliseconds // 1000)}s",
            "spec",
            "timing",
            "deadtime",
        )
    if deadtime.milliseconds < ETCD_DEFAULT_MIN_TTL_S * 1000:
        yield _warn(
            cluster,
            f"deadtime ({deadtime}) is below etcd's minimum lease TTL with its default timers "
            f"({ETCD_DEFAULT_MIN_TTL_S}s, 1.5 x its election timeout): unless etcd runs with "
            "a shorter --election-timeout, leases last longer than deadtime",
            "spec",
            "timing",
            "deadtime",
        )


def connectivity_rules(docs: list[LoadedDocument], ctx: LintContext) -> Iterable[Problem]:
    cluster = _cluster(docs)
    spec = cluster.model.spec if cluster and isinstance(cluster.model, Cluster) else None
    attribute = spec.connectivity.attribute if spec and spec.connectivity else None
    node_attributes = {
        key for d in docs if isinstance(d.model, Node) for key in d.model.spec.attributes
    }
    for doc in docs:
        if isinstance(doc.model, Location) and doc.model.spec.rules:
            for i, rule in enumerate(doc.model.spec.rules):
                names = {n for n in (rule.attribute, rule.score_attribute) if n is not None}
                unknown = {n for n in names if n != attribute and n not in node_attributes}
                if unknown and rule.op != "not_defined":
                    yield _warn(
                        doc,
                        f"no node declares attribute {sorted(unknown)[0]!r} and no "
                        "connectivity check sets it",
                        "spec",
                        "rules",
                        i,
                        "attribute",
                    )


def store_endpoints(docs: list[LoadedDocument], ctx: LintContext) -> Iterable[Problem]:
    url = ctx.store_url or ""
    if url.startswith("etcd://") and "," not in url:
        yield Problem(
            "the store has a single etcd endpoint: losing it stops the cluster "
            "(use 3 or 5 members)",
            severity="warning",
        )


LINTS: tuple[Lint, ...] = (
    fencing,
    secrets_inline,
    missing_executables,
    timing,
    watchdog,
    etcd_lease_ttl,
    connectivity_rules,
    store_endpoints,
)
