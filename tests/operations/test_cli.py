"""Node and cluster operations from the command line, without agents: what is recorded,
what apply and diff do with it, bad input, and waiting that times out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from reconciler import keys
from reconciler.agent.membership import MemberInfo
from reconciler.agent.records import Incarnation
from reconciler.store.url import open_store
from tests.cli.conftest import Hactl, hactl
from tests.manifests import cluster_doc, document, documents, dummy

__all__ = ["hactl"]

MANIFESTS = documents(
    cluster_doc("ops", stonith=False, timing={}),
    document("Node", "n1", {"standby": False}),
    document("Node", "n2", {"standby": True}),
    dummy("web", monitor=False),
    dummy("copies", monitor=False, clone={"max": 2}),
)


@pytest.fixture
def applied(hactl: Hactl) -> Path:
    path = hactl.write("cluster.yaml", MANIFESTS)
    assert hactl("apply", "-f", str(path)).exit_code == 0
    return path


def intents(hactl: Hactl) -> list[str]:
    listed = json.loads(hactl("get", "intents", "-o", "json").output)
    return [item["name"] for item in listed["items"]]


def join(hactl: Hactl, node: str) -> None:
    """Make `node` look like a live member (no agent runs: nothing ever happens)."""

    async def go() -> None:
        store = open_store(hactl.store_url)
        try:
            await store.put(
                keys.member("default", node), MemberInfo(node, f"i-{node}", 1, "h").to_json()
            )
            await store.put(
                keys.incarnation("default", node), Incarnation(f"i-{node}", 0.0).to_json()
            )
        finally:
            await store.close()

    asyncio.run(go())


class TestNodeIntents:
    """standby / online / maintenance record intents beside the manifests."""

    def test_standby_then_online(self, hactl: Hactl, applied: Path) -> None:
        result = hactl("node", "standby", "n1")
        assert result.exit_code == 0 and "standby on" in result.output
        assert intents(hactl) == ["standby/n1"]
        again = hactl("node", "standby", "n1")
        assert "already" in again.output and intents(hactl) == ["standby/n1"]
        assert hactl("node", "online", "n1").exit_code == 0
        assert intents(hactl) == []

    def test_online_overrides_a_declared_standby(self, hactl: Hactl, applied: Path) -> None:
        assert hactl("node", "online", "n2").exit_code == 0
        listed = json.loads(hactl("get", "intents", "-o", "json").output)["items"]
        assert [(i["name"], i["what"]) for i in listed] == [("standby/n2", "node n2 online")]
        assert hactl("node", "standby", "n2").exit_code == 0
        assert intents(hactl) == []  # back to what the manifest says

    def test_maintenance_on_and_off(self, hactl: Hactl, applied: Path) -> None:
        assert hactl("node", "maintenance", "n1").exit_code == 0
        assert hactl("maintenance", "on").exit_code == 0
        assert intents(hactl) == ["cluster-maintenance/cluster", "maintenance/n1"]
        assert hactl("maintenance", "off").exit_code == 0
        assert hactl("node", "maintenance", "n1", "--off").exit_code == 0
        assert intents(hactl) == []


class TestGitOps:
    """An apply of the manifests neither wipes nor duplicates intents; diff stays empty."""

    def test_apply_keeps_intents(self, hactl: Hactl, applied: Path) -> None:
        hactl("node", "standby", "n1")
        for extra in ((), ("--prune",)):
            assert hactl("apply", "-f", str(applied), *extra).exit_code == 0
            assert intents(hactl) == ["standby/n1"]
        result = hactl("diff", "-f", str(applied))
        assert result.exit_code == 0
        assert result.stdout == ""
        assert "standby/n1" in result.stderr and "not part of this diff" in result.stderr

    def test_get_shows_the_intent_beside_the_object(self, hactl: Hactl, applied: Path) -> None:
        hactl("node", "standby", "n1")
        table = hactl("get", "nodes").output
        assert "INTENTS" in table and "node n1 standby" in table


class TestBadInput:
    """A bad name or option: one line, exit 2, nothing recorded."""

    @pytest.mark.parametrize(
        "args",
        [
            ("node", "standby", "nope"),
            ("node", "standby", "../etc"),
            ("node", "standby", "a\x00b"),
            ("node", "online", "n1", "--wait", "--timeout", "soon"),
            ("node", "standby", "n1", "--wait", "--timeout", "0s"),
            ("maintenance", "maybe"),
            ("wait", "--for", "resource/web"),
            ("wait", "--for", "resource/web=Running"),
            ("wait", "--for", "everything"),
            ("resource", "move", "web", "--to", "n9"),
            ("resource", "move", "web"),
            ("resource", "move", "nope", "--to", "n1"),
            ("resource", "move", "copies", "--to", "n1"),
            ("resource", "move", "web", "--to", "n1", "--for", "0s"),
            ("resource", "move", "web", "--to", "n1", "--for", "-5m"),
            ("resource", "ban", "web", "--from", "../n1"),
            ("resource", "ban", "web; rm -rf /", "--from", "n1"),
            ("resource", "cleanup", "web", "--node", "n9"),
            ("resource", "restart", "nope"),
            ("resource", "clear", "nope"),
        ],
    )
    def test_refused(self, hactl: Hactl, applied: Path, args: tuple[str, ...]) -> None:
        result = hactl(*args)
        assert result.exit_code == 2, result.output
        assert intents(hactl) == []
        assert "Traceback" not in result.output and "error" in result.output.lower()

    def test_unknown_resource_to_wait_for(self, hactl: Hactl, applied: Path) -> None:
        result = hactl("wait", "--for", "resource/nope=Started", "--timeout", "2s")
        assert result.exit_code == 2 and "not declared" in result.output


class TestWaiting:
    """Waiting ends with 0 when reached, 1 when not reached in time."""

    def test_nothing_can_run_is_converged(self, hactl: Hactl, applied: Path) -> None:
        result = hactl("apply", "-f", str(applied), "--wait", "--timeout", "5s")
        assert result.exit_code == 0 and "converged: 2/2" in result.output

    def test_timeout(self, hactl: Hactl, applied: Path) -> None:
        join(hactl, "n1")  # a member that never starts anything: the start stays planned
        result = hactl("wait", "--for", "converged", "--timeout", "300ms")
        assert result.exit_code == 1
        assert "not reached within 0.3s" in result.output and "start web on n1" in result.output

    def test_drain_of_an_empty_node(self, hactl: Hactl, applied: Path) -> None:
        result = hactl("node", "standby", "n1", "--wait", "--timeout", "5s")
        assert result.exit_code == 0 and "drained" in result.output


class TestResourceIntents:
    """move/ban/clear/restart/cleanup record who, when and until; clear removes them."""

    def test_move_for_a_while(self, hactl: Hactl, applied: Path) -> None:
        result = hactl("resource", "move", "web", "--to", "n1", "--for", "1h")
        assert result.exit_code == 0 and "move web to n1 until" in result.output
        (item,) = json.loads(hactl("get", "intents", "-o", "json").output)["items"]
        assert item["name"] == "move/web" and item["by"] and item["until"] > item["at"]
        assert "move web to n1" in hactl("get", "resources").output
        table = hactl("get", "intents").output
        assert "m left" in table

    def test_move_again_replaces(self, hactl: Hactl, applied: Path) -> None:
        hactl("resource", "move", "web", "--to", "n1")
        hactl("resource", "move", "web", "--to", "n2")
        listed = json.loads(hactl("get", "intents", "-o", "json").output)["items"]
        assert [(i["name"], i["node"]) for i in listed] == [("move/web", "n2")]

    def test_clear(self, hactl: Hactl, applied: Path) -> None:
        hactl("resource", "move", "web", "--to", "n1")
        hactl("resource", "ban", "web", "--from", "n2")
        hactl("resource", "ban", "copies", "--from", "n2")
        cleared = hactl("resource", "clear", "web")
        assert cleared.exit_code == 0 and "cleared" in cleared.output
        assert intents(hactl) == ["ban/copies/n2"]
        again = hactl("resource", "clear", "web")
        assert again.exit_code == 0 and "no move, ban or restart" in again.output

    def test_intents_are_not_manifests(self, hactl: Hactl, applied: Path) -> None:
        hactl("resource", "ban", "web", "--from", "n1")
        hactl("resource", "restart", "web")
        hactl("resource", "cleanup", "web", "--node", "n1")
        assert hactl("apply", "-f", str(applied), "--prune").exit_code == 0
        assert intents(hactl) == ["ban/web/n1", "cleanup/web/n1", "restart/web"]
        result = hactl("diff", "-f", str(applied))
        assert result.exit_code == 0 and result.stdout == ""
        history = json.loads(hactl("history", "-o", "json").output)
        assert len(history) == 1  # intents never made a generation
