"""fence_process against real processes: what it kills, what it spares, and its API."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

from tests.fencing.processes import (
    FENCE_PROCESS,
    SLEEP,
    Processes,
    alive,
    clean_env,
    options,
    run_driver,
    unique,
)
from tests.waiting import wait_until


def fence(action: str, node: str, cluster: str | None = None, **env: str) -> tuple[int, str]:
    values = {"action": action, "port": node, "nodename": node}
    values |= {"cluster": cluster} if cluster else {}
    result = run_driver(FENCE_PROCESS, options(**values), **env)
    return result.returncode, result.stdout + result.stderr


class TestOff:
    """`off` kills every process of the node, daemons included, and nothing else."""

    def test_kills_the_node_and_spares_other_nodes_and_clusters(self, procs: Processes) -> None:
        node, other, cluster, elsewhere = unique("n"), unique("n"), unique("c"), unique("c")
        victims = [
            procs.agent(node, cluster),
            procs.marked(node, cluster),
            procs.daemon(node, cluster),
        ]
        survivors = [
            procs.agent(other, cluster),
            procs.marked(other, cluster),
            procs.agent(node, elsewhere),
            procs.marked(node, elsewhere),
        ]
        assert fence("status", node, cluster)[0] == 0

        code, output = fence("off", node, cluster)

        assert code == 0, output
        assert "Success: Powered OFF" in output
        assert [pid for pid in victims if alive(pid)] == []
        assert all(alive(pid) for pid in survivors)
        assert fence("status", node, cluster) == (2, "Status: OFF\n")

    def test_reboot_fences_like_off(self, procs: Processes) -> None:
        node, cluster = unique("n"), unique("c")
        pids = [procs.agent(node, cluster), procs.marked(node, cluster)]
        code, output = fence("reboot", node, cluster)
        assert code == 0, output
        assert not any(alive(pid) for pid in pids)

    def test_a_process_that_keeps_forking_is_frozen_and_killed(self, procs: Processes) -> None:
        node, cluster = unique("n"), unique("c")
        forker, children = procs.forker(node, cluster)
        wait_until(lambda: len(children.read_text().split()) >= 5, within=10, what="children")

        code, output = fence("off", node, cluster)

        assert code == 0, output
        pids = [forker, *map(int, children.read_text().split())]
        assert [pid for pid in pids if alive(pid)] == []

    def test_an_agent_without_cluster_option_is_of_its_environment_cluster(
        self, procs: Processes
    ) -> None:
        node, cluster, elsewhere = unique("n"), unique("c"), unique("c")
        mine = procs.agent(node, None, HACTL_CLUSTER=cluster)
        theirs = procs.agent(node, None, HACTL_CLUSTER=elsewhere)
        assert fence("off", node, cluster)[0] == 0
        assert not alive(mine)
        assert alive(theirs)

    def test_agent_argv_forms(self, procs: Processes) -> None:
        node, cluster = unique("n"), unique("c")
        as_module = procs.start(
            ["python3", "-c", SLEEP, "-m", "reconciler", "agent", f"--node={node}"],
            HACTL_CLUSTER=cluster,
        ).pid
        with_globals = procs.start(
            ["hactl", "-c", SLEEP, "--store", "memory://", "agent", "--node", node],
            HACTL_CLUSTER=cluster,
        ).pid
        assert fence("off", node, cluster)[0] == 0
        assert not alive(as_module)
        assert not alive(with_globals)

    def test_spares_processes_that_only_look_like_agents(self, procs: Processes) -> None:
        node, cluster = unique("n"), unique("c")
        lookalikes = [
            procs.agent(node, cluster, program="ssh-agent"),
            procs.start(["hactl", "-c", SLEEP, "status", "--node", node, "--cluster", cluster]).pid,
            procs.start(["python3", "-c", SLEEP], HACTL_CLUSTER=cluster).pid,
        ]
        assert fence("off", node, cluster)[0] == 0
        assert all(alive(pid) for pid in lookalikes)

    def test_refuses_when_its_own_ancestor_belongs_to_the_node(self, procs: Processes) -> None:
        node, cluster = unique("n"), unique("c")
        report = procs.tmp / "report"
        wrapper = (
            "import pathlib, subprocess, sys; r = subprocess.run([sys.argv[1]], input=sys.argv[2],"
            " capture_output=True, text=True); pathlib.Path(sys.argv[3]).write_text("
            "f'{r.returncode} {r.stderr}')"
        )
        stdin = options(action="off", port=node, cluster=cluster)
        result = procs.start(
            ["python3", "-c", wrapper, str(FENCE_PROCESS), stdin, str(report)],
            HACTL_NODE=node,
            HACTL_CLUSTER=cluster,
        )
        assert result.wait(30) == 0  # the wrapper, carrying the node's markers, survived
        assert report.read_text().startswith("1 Failed: refusing to kill this driver")


class TestClusterScope:
    """The `cluster` option wins over HACTL_CLUSTER of the driver; without both, all clusters."""

    def test_option_wins_over_environment(self, procs: Processes) -> None:
        node, cluster, elsewhere = unique("n"), unique("c"), unique("c")
        mine, theirs = procs.marked(node, cluster), procs.marked(node, elsewhere)
        assert fence("off", node, cluster, HACTL_CLUSTER=elsewhere)[0] == 0
        assert not alive(mine)
        assert alive(theirs)

    def test_environment_scopes_without_option(self, procs: Processes) -> None:
        node, cluster, elsewhere = unique("n"), unique("c"), unique("c")
        mine, theirs = procs.marked(node, cluster), procs.marked(node, elsewhere)
        assert fence("off", node, None, HACTL_CLUSTER=elsewhere)[0] == 0
        assert alive(mine)
        assert not alive(theirs)

    def test_no_cluster_fences_the_node_in_every_cluster(self, procs: Processes) -> None:
        node = unique("n")
        pids = [procs.marked(node, unique("c")), procs.agent(node, unique("c"))]
        assert fence("off", node)[0] == 0
        assert not any(alive(pid) for pid in pids)


class TestOtherActions:
    """status, list and on report and change nothing; off of an absent node succeeds."""

    def test_status_and_on(self, procs: Processes) -> None:
        node, cluster = unique("n"), unique("c")
        assert fence("status", node, cluster) == (2, "Status: OFF\n")
        pid = procs.marked(node, cluster)
        code, output = fence("status", node, cluster)
        assert (code, output.startswith("Status: ON")) == (0, True)
        assert fence("on", node, cluster)[0] == 0
        assert alive(pid)

    def test_list_shows_nodes_with_live_processes(self, procs: Processes) -> None:
        cluster, elsewhere = unique("c"), unique("c")
        a, b, c = unique("a"), unique("b"), unique("c")
        procs.agent(a, cluster)
        procs.marked(b, cluster)
        procs.marked(c, elsewhere)
        code, output = fence("list", "", cluster)
        assert code == 0
        assert output.splitlines() == sorted([f"{a},{cluster}", f"{b},{cluster}"])

    def test_off_of_a_node_without_processes_succeeds(self) -> None:
        code, output = fence("off", unique("n"), unique("c"))
        assert code == 0
        assert "0 processes killed" in output


class TestApi:
    """Options from stdin or argv, fence-agents metadata, and clear usage errors."""

    def test_metadata_is_fence_agents_xml(self) -> None:
        result = run_driver(FENCE_PROCESS, options(action="metadata"))
        root = ET.fromstring(result.stdout.split("\n", 1)[1])
        assert result.returncode == 0
        assert (root.tag, root.get("name")) == ("resource-agent", "fence_process")
        actions = {a.get("name") for a in root.iter("action")}
        assert actions == {"off", "on", "reboot", "status", "monitor", "list", "metadata"}
        params = {p.get("name") for p in root.iter("parameter")}
        assert {"action", "port", "plug", "cluster", "power_timeout"} <= params
        for parameter in root.iter("parameter"):
            assert parameter.find("content") is not None
            assert parameter.find("shortdesc") is not None

    def test_unknown_action_fails_with_a_message(self) -> None:
        result = run_driver(FENCE_PROCESS, options(action="explode", port="x"))
        assert result.returncode == 1
        assert "unknown action 'explode'" in result.stderr

    def test_missing_port_fails_and_never_reads_as_off(self) -> None:
        result = run_driver(FENCE_PROCESS, options(action="status"))
        assert result.returncode == 1
        assert "port, plug or nodename" in result.stderr

    def test_bad_power_timeout(self) -> None:
        result = run_driver(FENCE_PROCESS, options(action="off", port="x", power_timeout="soon"))
        assert result.returncode == 1
        assert "power_timeout" in result.stderr

    def test_comments_blank_lines_and_last_value_wins(self) -> None:
        stdin = "# hactl\n\naction=off\n  action=status\nplug=" + unique("n") + "\n"
        assert run_driver(FENCE_PROCESS, stdin).returncode == 2

    def test_command_line_mode(self) -> None:
        argv = ["-o", "status", "-n", unique("n"), "--cluster", unique("c")]
        result = run_driver(FENCE_PROCESS, "", argv=argv)
        assert (result.returncode, result.stdout) == (2, "Status: OFF\n")

    def test_monitor(self) -> None:
        assert run_driver(FENCE_PROCESS, options(action="monitor")).returncode == 0

    def test_runs_from_a_bare_interpreter(self) -> None:
        result = subprocess.run(
            [sys.executable, "-I", str(FENCE_PROCESS)],
            input=options(action="monitor"),
            capture_output=True,
            text=True,
            timeout=30,
            env=clean_env(),
            check=False,
        )
        assert result.returncode == 0, result.stderr
