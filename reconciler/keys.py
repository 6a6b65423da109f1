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


def leader(cluster: str) -> str:
    """The leader's key, attached to the leader's membership lease. Its create
    revision is the leader's fencing token."""
    return cluster_prefix(cluster) + "leader"
