"""Watchdog fencing's parts: the timing rule (pure), pets from the membership, the poison
pill, and the watchdog process itself (a real process guarding a stand-in agent)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import keys
from reconciler.agent import watchdog_process
from reconciler.agent.budget import LeaseBudget, granted_ttl
from reconciler.agent.membership import LeaseTooShort, MemberInfo, Membership
from reconciler.agent.poison import PoisonPill, watch_for_pill
from reconciler.agent.records import Incarnation
from reconciler.agent.watchdog_timing import (
    fenced_after,
    fires_at,
    node_timeout,
    recommended_minimum,
    slack,
    watchdog_wait,
)
from reconciler.store.base import Store
from reconciler.store.memory import MemoryStore
from tests.fencing.processes import FENCE_PROCESS, PROMPT, Processes, alive, unique
from tests.waiting import eventually, wait_until

seconds = st.floats(min_value=0.01, max_value=600, allow_nan=False)


class TestTimingRule:
    """The node's watchdog fires before the leader may count the node fenced."""

    def test_the_node_waits_half(self) -> None:
        assert node_timeout(4.0) == 2.0
        assert fires_at(10.0, 4.0) == 12.0
        assert fenced_after(20.0, 4.0) == 24.0
        assert recommended_minimum(1.5) == 3.0

    def test_the_leader_counts_by_the_nodes_own_watchdog(self) -> None:
        assert watchdog_wait(4.0, node_timeout(4.0)) == 4.0
        # watchdogTimeout lowered since the node started: its watchdog still waits 5 s.
        assert watchdog_wait(4.0, 5.0) == 10.0
        # An agent started without a watchdog: no amount of waiting proves it down.
        assert watchdog_wait(4.0, 0.0) is None

    @given(last_sent=seconds, deadtime=seconds, watchdog=seconds, noticed_late=seconds)
    def test_fired_before_assumed_dead(
        self, last_sent: float, deadtime: float, watchdog: float, noticed_late: float
    ) -> None:
        # The lease cannot expire before last_sent + deadtime; the leader notices it
        # gone at that moment or later, and then waits the whole watchdogTimeout.
        gone_seen = last_sent + deadtime + noticed_late
        assumed_dead = fenced_after(gone_seen, watchdog)
        assert assumed_dead - fires_at(last_sent, watchdog) >= slack(deadtime, watchdog) - 1e-6
        assert slack(deadtime, watchdog) > deadtime

    def test_granted_ttl(self) -> None:
        assert granted_ttl(1.0, 1.0) == "as asked"
        assert granted_ttl(1.5, 2.0) == "longer"
        assert granted_ttl(2.0, 1.0) == "shorter"


class _Granting(MemoryStore):
    """A store that grants another TTL than asked (as etcd rounds up): for one rule."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    async def refresh_lease(self, lease: int) -> float:
        return await super().refresh_lease(lease) * self.factor


def _membership(store: Store, pets: list[float], ttl: float = 0.6) -> Membership:
    return Membership(
        store,
        cluster="t",
        info=MemberInfo.for_this_process("n1"),
        budget=LeaseBudget(ttl=ttl, keepalive=ttl / 6, warntime=ttl / 2),
        on_refreshed=pets.append,
    )


class TestPets:
    """The watchdog is petted after each good refresh, armed before the key exists."""

    async def test_armed_at_join_and_petted_while_kept(self, store: Store, ttl: float) -> None:
        pets: list[float] = []
        member = _membership(store, pets, ttl)
        await member.join()
        assert len(pets) == 1 and pets[0] == member.last_ok_sent
        keeper = asyncio.create_task(member.keep())

        async def petted_again() -> bool:
            return len(pets) >= 3

        await eventually(petted_again, within=ttl * 10, what="two more pets")
        assert pets == sorted(pets)
        await member.leave()
        await keeper
        count = len(pets)
        await asyncio.sleep(ttl)
        assert len(pets) == count  # never after the lease is given up

    async def test_the_incarnation_says_which_watchdog_guards_it(self) -> None:
        store = MemoryStore()
        member = Membership(
            store,
            cluster="t",
            info=MemberInfo.for_this_process("n1"),
            budget=LeaseBudget(ttl=0.6, keepalive=0.1, warntime=0.3),
            watchdog=0.75,
        )
        await member.join()
        kv = await store.get(keys.incarnation("t", "n1"))
        assert kv is not None and Incarnation.from_json(kv.value).watchdog == 0.75
        await member.leave()
        await store.close()

    async def test_no_pet_once_the_lease_is_lost(self) -> None:
        store = MemoryStore()
        pets: list[float] = []
        member = _membership(store, pets)
        await member.join()
        keeper = asyncio.create_task(member.keep())
        await store.revoke_lease(member.lease)
        await asyncio.wait_for(member.lost.wait(), timeout=5)
        count = len(pets)
        await asyncio.sleep(0.3)
        assert len(pets) == count
        await keeper
        await store.close()

    async def test_a_shorter_lease_is_refused(self) -> None:
        store = _Granting(0.5)
        pets: list[float] = []
        with pytest.raises(LeaseTooShort, match=r"granted a 0\.3s lease for deadtime 0\.6s"):
            await _membership(store, pets).join()
        assert pets == [] and await store.get(keys.member("t", "n1")) is None
        await store.close()

    async def test_a_longer_lease_is_accepted(self) -> None:
        store = _Granting(2.0)
        member = _membership(store, [])
        await member.join()
        assert await store.get(keys.member("t", "n1")) is not None
        await member.leave()
        await store.close()


class TestPoisonPill:
    async def test_only_a_pill_for_this_incarnation_counts(self) -> None:
        store = MemoryStore()
        key = keys.poison_pill("t", "n1")
        await store.put(key, PoisonPill("old", 0.0, "n2", "stale").to_json())
        waiter = asyncio.create_task(
            watch_for_pill(store, cluster="t", node="n1", incarnation="now")
        )
        await store.put(keys.poison_pill("t", "n10"), PoisonPill("now", 0.0, "n2", "x").to_json())
        await asyncio.sleep(0.1)
        assert not waiter.done()
        await store.put(key, PoisonPill("now", 1.0, "n2", "failed stop").to_json())
        why = await asyncio.wait_for(waiter, timeout=5)
        assert why == "poison pill from n2: failed stop"
        await store.close()


STAND_IN = """
import os, subprocess, sys, time
watchdog, driver, node, cluster, timeout, mode, pidfile = sys.argv[1:8]
env = {k: v for k, v in os.environ.items() if k != "HACTL_NODE"}
wd = subprocess.Popen(
    [sys.executable, "-I", watchdog, "--agent-pid", str(os.getpid()), "--timeout", timeout,
     "--driver", driver, "--node", node, "--cluster", cluster],
    stdin=subprocess.PIPE, env=env, start_new_session=True,
)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
def ready():  # the watchdog holds a pidfd of this process once it checked its parent
    fds = f"/proc/{wd.pid}/fd"
    for fd in os.listdir(fds):
        try:
            if "pidfd" in os.readlink(f"{fds}/{fd}"):
                return True
        except OSError:  # closed meanwhile
            pass
    return False
deadline = time.monotonic() + 10
while not ready() and time.monotonic() < deadline:
    time.sleep(0.01)
def send(line):
    wd.stdin.write(line.encode() + b"\\n")
    wd.stdin.flush()
send(f"pet {time.monotonic()!r}")
with open(pidfile + ".tmp", "w") as f:
    f.write(f"{wd.pid} {child.pid}")
os.rename(pidfile + ".tmp", pidfile)
if mode == "exit":
    sys.exit(0)
if mode == "fire":
    send("fire a poison pill")
if mode == "pet":
    end = time.monotonic() + 4 * float(timeout)
    while time.monotonic() < end:
        send(f"pet {time.monotonic()!r}")
        time.sleep(0.05)
    send("stand-down")
    wd.wait()
time.sleep(60)
"""


class StandIn:
    """A stand-in agent (carrying a node's markers) guarded by the real watchdog process."""

    def __init__(self, procs: Processes, mode: str, timeout: float = 0.5) -> None:
        self.node, self.cluster = unique("wd"), unique("c")
        pidfile = procs.tmp / f"{self.node}.pids"
        argv = [
            "python3",
            "-c",
            STAND_IN,
            watchdog_process.__file__,
            str(FENCE_PROCESS),
            self.node,
            self.cluster,
            str(timeout),
            mode,
            str(pidfile),
        ]
        popen = procs.start(argv, HACTL_NODE=self.node, HACTL_CLUSTER=self.cluster)
        self.agent = popen
        wait_until(pidfile.exists, within=PROMPT, what="the stand-in started its watchdog")
        self.watchdog, self.child = (int(p) for p in pidfile.read_text().split())
        procs.pids += [self.watchdog, self.child]


class TestWatchdogProcess:
    def test_not_petted_it_kills_the_agent_and_its_resources(self, procs: Processes) -> None:
        started = time.monotonic()
        guarded = StandIn(procs, "freeze")
        wait_until(
            lambda: not alive(guarded.child) and guarded.agent.poll() is not None,
            within=PROMPT,
            what="agent and resource killed",
        )
        assert time.monotonic() - started >= 0.5
        wait_until(lambda: not alive(guarded.watchdog), within=PROMPT, what="watchdog done")

    def test_petted_it_waits_and_stands_down(self, procs: Processes) -> None:
        guarded = StandIn(procs, "pet", timeout=0.3)
        wait_until(lambda: not alive(guarded.watchdog), within=PROMPT, what="stood down")
        assert guarded.agent.poll() is None and alive(guarded.child)

    def test_agent_gone_without_standing_down(self, procs: Processes) -> None:
        guarded = StandIn(procs, "exit", timeout=30)
        wait_until(lambda: not alive(guarded.child), within=PROMPT, what="resource killed")

    def test_fire_kills_at_once(self, procs: Processes) -> None:
        guarded = StandIn(procs, "fire", timeout=30)
        wait_until(
            lambda: not alive(guarded.child) and guarded.agent.poll() is not None,
            within=PROMPT,
            what="killed on the pill",
        )


def test_the_watchdog_is_stdlib_only() -> None:
    """It runs as `python -I FILE`: no hactl import may creep in."""
    source = Path(watchdog_process.__file__).read_text()
    assert "reconciler" not in source.split('"""', 2)[2]
    assert sys.executable
