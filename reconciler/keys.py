"""The store's key layout: every key hactl reads or writes is built here.

    /hactl/<cluster>/generation               the current generation record (JSON)
    /hactl/<cluster>/history/<generation>     every applied generation's record (JSON)
    /hactl/<cluster>/snapshots/<sha256>/<i>   declared-state snapshots, content-addressed,
                                              zlib-compressed JSON in chunks

A generation record names the snapshot holding the whole declared state; an apply
writes the (immutable) snapshot first and then moves the generation pointer in one
compare-and-set transaction, so an apply of any size is atomic on every backend,
including etcd with its default limit of 128 operations per transaction.
"""

from __future__ import annotations

import re

from reconciler.errors import UsageError

ROOT = "/hactl"
_CLUSTER_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$")


def check_cluster_name(cluster: str) -> str:
    if not _CLUSTER_RE.match(cluster):
        raise UsageError(f"--cluster {cluster!r} must be a DNS-1123 label")
    return cluster


def cluster_prefix(cluster: str) -> str:
    return f"{ROOT}/{check_cluster_name(cluster)}/"


def generation(cluster: str) -> str:
    return cluster_prefix(cluster) + "generation"


def history_prefix(cluster: str) -> str:
    return cluster_prefix(cluster) + "history/"


def history(cluster: str, number: int) -> str:
    return f"{history_prefix(cluster)}{number:012d}"


def snapshot_prefix(cluster: str, digest: str) -> str:
    return f"{cluster_prefix(cluster)}snapshots/{digest}/"


def snapshot_chunk(cluster: str, digest: str, index: int) -> str:
    return f"{snapshot_prefix(cluster, digest)}{index:06d}"


# --- runtime state (node agents) ----------------------------------------------------


def members_prefix(cluster: str) -> str:
    return cluster_prefix(cluster) + "members/"


def member(cluster: str, node: str) -> str:
    """A live node agent's key, attached to its membership lease."""
    return members_prefix(cluster) + node


def incarnation(cluster: str, node: str) -> str:
    """The last incarnation of a node's agent that joined (persistent)."""
    return f"{cluster_prefix(cluster)}incarnations/{node}"


def clean_shutdown(cluster: str, node: str) -> str:
    """Written by an agent that stopped everything before leaving (persistent)."""
    return f"{cluster_prefix(cluster)}clean/{node}"


def shutdown(cluster: str, node: str) -> str:
    """An agent asking to leave: the leader moves its resources away first."""
    return f"{cluster_prefix(cluster)}shutdown/{node}"


def fenced(cluster: str, node: str) -> str:
    """The last successful fencing of a node, naming the incarnation it ended."""
    return f"{cluster_prefix(cluster)}fenced/{node}"


def poison_pill(cluster: str, node: str) -> str:
    """A leader's order to a node to self-fence through its watchdog (names its incarnation)."""
    return f"{cluster_prefix(cluster)}poison/{node}"


def observed_prefix(cluster: str, node: str | None = None) -> str:
    base = cluster_prefix(cluster) + "observed/"
    return base if node is None else f"{base}{node}/"


def observed(cluster: str, node: str, resource: str) -> str:
    """A resource's state on a node, as that node's agent last saw it."""
    return observed_prefix(cluster, node) + resource


def failcount(cluster: str, node: str, resource: str, operation: str) -> str:
    return f"{cluster_prefix(cluster)}failcounts/{node}/{resource}/{operation}"


def attributes(cluster: str, node: str) -> str:
    """Transient node attributes a node publishes (the connectivity check's pingd)."""
    return f"{cluster_prefix(cluster)}attributes/{node}"


def decisions(cluster: str, node: str) -> str:
    """The leader's current actions for one node, carrying the leader's token."""
    return f"{cluster_prefix(cluster)}decisions/{node}"


def claims_prefix(cluster: str) -> str:
    return cluster_prefix(cluster) + "claims/"


def claim(cluster: str, resource: str) -> str:
    """Which nodes may run a resource, and which may promote it (see docs/runtime.md)."""
    return claims_prefix(cluster) + resource


def inputs_prefix(cluster: str) -> str:
    """The leader's saved scheduler inputs, a rotating set (`hactl simulate` replays one)."""
    return cluster_prefix(cluster) + "inputs/"


def inputs(cluster: str, sequence: int) -> str:
    return f"{inputs_prefix(cluster)}{sequence:012d}"


def intents_prefix(cluster: str) -> str:
    """Operator intents (standby, maintenance, move, ban, …): records of their own that an
    apply never touches (see reconciler/intents.py)."""
    return cluster_prefix(cluster) + "intents/"


def intent(cluster: str, name: str) -> str:
    """One intent; `name` is `Intent.name` (e.g. `standby/n1`, `ban/web/n2`)."""
    return intents_prefix(cluster) + name


def events_prefix(cluster: str) -> str:
    """The event stream: one ring of slots per writer (see reconciler/events.py)."""
    return cluster_prefix(cluster) + "events/"


def event_ring(cluster: str, writer: str) -> str:
    """One writer's ring; `writer` is `<node>/node`, `<node>/leader` or `operator`."""
    return f"{events_prefix(cluster)}{writer}/"


def event(cluster: str, writer: str, slot: int) -> str:
    return f"{event_ring(cluster, writer)}{slot:06d}"


RUNTIME_PREFIXES = (
    "incarnations/",
    "members/",
    "clean/",
    "shutdown/",
    "fenced/",
    "observed/",
    "failcounts/",
    "attributes/",
    "claims/",
    "decisions/",
    "intents/",
)
"""What the leader reads each round (declared state comes through the generation), one
range per prefix, so not at one revision: the order makes the races benign. An agent
writes its incarnation together with its membership key, so incarnations come first (a
member whose incarnation was not read yet is online; read the other way round, a node
joining between the two reads would look lost and be fenced). A clean-shutdown record is
written before the key goes, so members come before clean.
Poison pills (`poison/`) are only read by the node they name; the fence history is a ring
of the event stream (`events/_fencing/`), which never wakes the leader."""


def leader(cluster: str) -> str:
    """The leader's key, attached to the leader's membership lease. Its create
    revision is the leader's fencing token."""
    return cluster_prefix(cluster) + "leader"
