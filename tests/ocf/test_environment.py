"""The environment of an action is built from scratch, from the resource and the node."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.ocf import AgentRef, CloneInfo, ParameterError, ParamValue, RunContext
from reconciler.ocf.environment import MAX_ENTRY_BYTES, SYSTEM_PATH, action_environment

CONTEXT = RunContext(cluster="prod", node="node1", rsctmp=Path("/run/hactl/node1"))


def environment(
    agent: str = "ocf:heartbeat:IPaddr2",
    *,
    params: dict[str, ParamValue] | None = None,
    timeout: float = 20.0,
    interval: float = 0.0,
    clone: CloneInfo | None = None,
) -> dict[str, str]:
    return action_environment(
        AgentRef.parse(agent),
        instance="web-ip",
        params=params or {},
        context=CONTEXT,
        timeout=timeout,
        interval=interval,
        clone=clone,
    )


class TestOcfEnvironment:
    """OCF agents get what Pacemaker gives them, and nothing of hactl's own environment."""

    def test_exact_variables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HACTL_STORE_PASSWORD", "s3cret")
        monkeypatch.setenv("OCF_RESKEY_ip", "10.0.0.1")
        env = environment(params={"ip": "198.18.0.11", "cidr_netmask": 24}, interval=10.0)
        assert env == {
            "PATH": SYSTEM_PATH,
            "HACTL_CLUSTER": "prod",
            "HACTL_NODE": "node1",
            "OCF_ROOT": "/usr/lib/ocf",
            "OCF_RA_VERSION_MAJOR": "1",
            "OCF_RA_VERSION_MINOR": "1",
            "OCF_EXIT_REASON_PREFIX": "ocf-exit-reason:",
            "OCF_RESOURCE_INSTANCE": "web-ip",
            "OCF_RESOURCE_TYPE": "IPaddr2",
            "OCF_RESOURCE_PROVIDER": "heartbeat",
            "HA_RSCTMP": "/run/hactl/node1",
            "OCF_RESKEY_ip": "198.18.0.11",
            "OCF_RESKEY_cidr_netmask": "24",
            "OCF_RESKEY_CRM_meta_on_node": "node1",
            "OCF_RESKEY_CRM_meta_timeout": "20000",
            "OCF_RESKEY_CRM_meta_interval": "10000",
        }

    def test_value_strings(self) -> None:
        env = environment(params={"on": True, "off": False, "n": 3, "x": 0.25}, timeout=0.5)
        assert [env[f"OCF_RESKEY_{k}"] for k in ("on", "off", "n", "x")] == [
            "true",
            "false",
            "3",
            "0.25",
        ]
        assert env["OCF_RESKEY_CRM_meta_timeout"] == "500"

    def test_own_agents_are_provider_hactl(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OCF_ROOT", "/opt/ocf")
        env = environment("hactl:Dummy")
        assert (env["OCF_RESOURCE_PROVIDER"], env["OCF_RESOURCE_TYPE"]) == ("hactl", "Dummy")
        assert env["OCF_ROOT"] == "/opt/ocf"


class TestClone:
    """Clone instances see the CRM_meta_ names that clone-aware agents (drbd, Stateful) read."""

    def test_promotable(self) -> None:
        clone = CloneInfo(instance=1, max=2, per_node=1, promotable=True, promoted_max=1)
        env = environment("ocf:linbit:drbd", clone=clone)
        meta = {
            k.removeprefix("OCF_RESKEY_CRM_meta_"): v
            for k, v in env.items()
            if k.startswith("OCF_RESKEY_CRM_meta_")
        }
        assert meta == {
            "on_node": "node1",
            "timeout": "20000",
            "interval": "0",
            "clone": "1",
            "clone_max": "2",
            "clone_node_max": "1",
            "globally_unique": "false",
            "notify": "false",
            "promotable": "true",
            "promoted_max": "1",
            "promoted_node_max": "1",
            "master_max": "1",
            "master_node_max": "1",
        }

    def test_plain_clone_has_no_promotion_variables(self) -> None:
        env = environment(clone=CloneInfo(instance=0, max=3))
        assert env["OCF_RESKEY_CRM_meta_clone_max"] == "3"
        assert not [k for k in env if "promot" in k or "master" in k]


class TestLsb:
    """LSB init scripts get no OCF variables, but still the markers fencing relies on."""

    def test_minimal(self) -> None:
        env = environment("lsb:apache2", params={"ignored": "x"})
        assert env == {"PATH": SYSTEM_PATH, "HACTL_CLUSTER": "prod", "HACTL_NODE": "node1"}


class TestRefusedParameters:
    """A parameter that cannot become an environment variable is a configuration error."""

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"bad-name": "x"}, "cannot be an environment variable"),
            ({"a;b": "x"}, "cannot be an environment variable"),
            ({"": "x"}, "cannot be an environment variable"),
            ({"CRM_meta_timeout": "1"}, "prefix is hactl's"),
            ({"x": "a\0b"}, "contains a NUL byte"),
            ({"x": "v" * MAX_ENTRY_BYTES}, "limits one environment entry"),
        ],
    )
    def test_refused(self, params: dict[str, ParamValue], message: str) -> None:
        with pytest.raises(ParameterError, match=message):
            environment(params=params)
