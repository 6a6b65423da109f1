"""A network partition: the node serving a group is cut off from a 3-member etcd.

Two network namespaces made by the test (tests/netns.py): the majority's, where the etcd
members, agents n2 and n3 and the test's commands run on its loopback; and n1's alone,
reaching etcd over one veth pair. The test takes the link down while n1 runs the group
(a Dummy and the witness service of tests/witness_daemon.py). Expected, and checked from
outside the cluster (the witness log, a watch on the store, /proc):

- n1 gives up before its lease could expire and stops its resources: its witness falls
  silent within deadtime of the cut and before the store ends its lease;
- the majority fences n1, records it, and only then runs the group: on exactly one
  survivor, never two nodes serving at the same moment;
- when the link comes back, n1 resumes nothing; its agent, restarted, joins as a new
  incarnation and the group fails back to it, still never serving twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

from reconciler import keys
from reconciler.agent.records import FenceRecord
from tests import netns
from tests.etcd_cluster import EtcdCluster, require_etcd
from tests.faults.test_failover import MANIFESTS, WITNESS
from tests.harness import FENCE_PROCESS, HACTL, AgentCluster
from tests.waiting import wait_until
from tests.witness import intervals, lines, overlaps, serving_since

ROOT = Path(__file__).resolve().parents[2]
NODES = ("n1", "n2", "n3")
CUT_OFF = "n1"
DEADTIME_NS = 1_000_000_000
"""The manifests' deadtime: the lease lasts at least this long after its last refresh."""
RECENT_NS = 100_000_000


class PartitionedCluster(AgentCluster):
    """Agents in their namespaces: n1 alone (etcd at the majority's veth address), the
    others in the majority's (etcd on its loopback). Commands run in the majority's."""

    def __init__(self, workdir: Path, *, net: netns.Partition, etcd: EtcdCluster) -> None:
        super().__init__(workdir, store_url=etcd.url())
        self.net = net
        self.cut_off_url = etcd.url(host=netns.MAJORITY_ADDRESS)

    def hactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self.in_majority(), "--store", self.store_url, "--cluster", self.cluster, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"hactl {' '.join(args)} failed: {done.stderr}")
        return done

    def in_majority(self) -> list[str]:
        return [*netns.prefix(self.net.majority), *HACTL]

    def command_prefix(self, node: str) -> list[str]:
        return netns.prefix(self.net.alone if node == CUT_OFF else self.net.majority)

    def agent_store_url(self, node: str) -> str:
        return self.cut_off_url if node == CUT_OFF else self.store_url

    def probe(self) -> list[str]:
        """tests/faults/store_probe.py, in the majority's namespace."""
        return [*netns.prefix(self.net.majority), sys.executable, "-m", "tests.faults.store_probe"]

    def read(self, key: str) -> bytes | None:
        """A key's value, read in the majority's namespace."""
        done = subprocess.run(
            [*self.probe(), "get", self.store_url, key],
            capture_output=True,
            timeout=60,
            check=True,
            cwd=ROOT,
        )
        return done.stdout or None

    def node_processes_left(self, node: str) -> bool:
        """Whether any process of the node is alive (fence_process status: 0 on, 2 off)."""
        done = subprocess.run(
            [FENCE_PROCESS],
            input=f"action=status\nport={node}\ncluster={self.cluster}\n",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode in (0, 2), done.stderr
        return done.returncode == 0


class KeyWatch:
    """A watch on store keys from the majority's side (tests/faults/store_probe.py in its
    namespace): when each change reached it, on the test's monotonic clock."""

    def __init__(self, cluster: PartitionedCluster, prefix: str) -> None:
        self._command = [*cluster.probe(), "watch", cluster.store_url, prefix]
        self.changes: list[tuple[int, str, str]] = []
        self._ready = threading.Event()

    def __enter__(self) -> KeyWatch:
        self._process = subprocess.Popen(
            self._command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(30):
            self.__exit__(None, None, None)
            raise AssertionError("the store watch did not start within 30s")
        return self

    def _read(self) -> None:
        assert self._process.stdout is not None
        for raw in self._process.stdout:
            parts = raw.decode().split()
            if parts == ["ready"]:
                self._ready.set()
            elif len(parts) == 3:
                self.changes.append((int(parts[0]), parts[1], parts[2]))

    def deleted_at(self, key: str) -> int | None:
        return next((at for at, kind, k in self.changes if k == key and kind == "delete"), None)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait(timeout=10)
        self._reader.join(timeout=10)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PartitionedCluster]:
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(f"the partition test needs network namespaces: {reason}")
    require_etcd()
    text = (
        MANIFESTS.replace("WORK", str(tmp_path))
        .replace("PYTHON", sys.executable)
        .replace("WITNESS", str(WITNESS))
    )
    with netns.partition() as net:
        etcd = EtcdCluster(
            tmp_path / "etcd", size=3, netns=net.majority, also_listen=netns.MAJORITY_ADDRESS
        )
        running: PartitionedCluster | None = None
        try:
            etcd.start()
            running = PartitionedCluster(tmp_path, net=net, etcd=etcd)
            running.apply(text)
            for node in NODES:
                running.start(node)
            log = tmp_path / "witness.log"
            wait_until(
                lambda: serving_since(log, time.monotonic_ns() - RECENT_NS) == {CUT_OFF},
                within=30,
                what="the service answering on n1",
            )
            yield running
        finally:
            if running is not None:
                running.net.mend()  # the agents' clean shutdown needs the store
                running.stop_all()
            etcd.stop()


class TestPartition:
    """Cut off from the store, a node stops its group before its lease could expire; the
    majority fences it before running the group once; mended, it resumes nothing."""

    def test_cut_off_node_gives_up_is_fenced_and_resumes_nothing(
        self, cluster: PartitionedCluster
    ) -> None:
        log = cluster.workdir / "witness.log"
        member = keys.member(cluster.cluster, CUT_OFF)
        with KeyWatch(cluster, member) as watch:
            cluster.net.cut()
            cut_at = time.monotonic_ns()  # n1's last good refresh was sent before this

            # n1 gives up on its own and stops everything. Its exit code is no witness:
            # the fencing may kill it after it stopped everything, while it closes its
            # connections to the store it cannot reach.
            cluster.wait_exit(CUT_OFF, within=15)
            assert gave_up_and_stopped(cluster.logs[CUT_OFF])

            survivor = takeover(cluster, log)
            wait_until(
                lambda: watch.deleted_at(member) is not None, within=10, what="n1's lease ended"
            )
            lease_ended = watch.deleted_at(member)
        assert lease_ended is not None
        last_answer = max(at for node, at, _ in lines(log) if node == CUT_OFF)
        assert last_answer - cut_at < DEADTIME_NS, "n1 still served a deadtime after the cut"
        assert last_answer < lease_ended, "n1 still served when the store ended its lease"

        # The link comes back: n1 is fenced and stays down; the survivor keeps serving.
        cluster.net.mend()
        mended_at = time.monotonic_ns()
        # Nothing must happen: an absence is observed over a window (a few deadtimes of
        # keepalives and monitor intervals).
        time.sleep(2.0)
        assert serving_since(log, mended_at) == {survivor}
        assert not cluster.node_processes_left(CUT_OFF)
        assert overlaps(log) == []

        # Restarted by its operator, n1 joins as a new incarnation; the group fails back.
        fenced = fence_record(cluster)
        cluster.start(CUT_OFF)
        wait_until(
            lambda: serving_since(log, time.monotonic_ns() - RECENT_NS) == {CUT_OFF},
            within=30,
            what="the service back on n1",
        )
        time.sleep(0.3)  # let the log run on: a second copy would show up here
        assert overlaps(log) == []
        assert fence_record(cluster) == fenced  # the old fencing stands, no new one


def gave_up_and_stopped(log: Path) -> bool:
    """The agent's log says it lost its lease, then that it stopped every resource."""
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    kinds = [(e["event"], e.get("reason")) for e in events]
    lost = ("agent.lease_lost", None)
    stopped = ("agent.exit", "store lost; resources stopped")
    return lost in kinds and stopped in kinds[kinds.index(lost) :]


def fence_record(cluster: PartitionedCluster) -> FenceRecord | None:
    raw = cluster.read(keys.fenced(cluster.cluster, CUT_OFF))
    return FenceRecord.from_json(raw) if raw else None


def takeover(cluster: PartitionedCluster, log: Path) -> str:
    """The service answers on exactly one survivor, after n1's fencing was recorded, and
    never on two nodes at once. Returns the survivor."""
    survivors = set(NODES) - {CUT_OFF}

    def moved() -> bool:
        recent = serving_since(log, time.monotonic_ns() - RECENT_NS)
        return len(recent) == 1 and recent <= survivors

    wait_until(moved, within=30, what="the service answering on one survivor")
    time.sleep(0.3)  # let the log run on: a second copy would show up here
    assert overlaps(log) == []
    (survivor,) = serving_since(log, time.monotonic_ns() - RECENT_NS)
    record = fence_record(cluster)
    assert record is not None, "n1 was never fenced"
    first_answer = min(i.start_wall for i in intervals(log) if i.node == survivor)
    assert record.at * 1e9 < first_answer, "the survivor answered before n1's fencing record"
    return survivor
