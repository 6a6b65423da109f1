"""`hactl import heartbeat`: ha.cf + haresources in, validated manifests and warnings out."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from reconciler.cli.importer import import_group
from reconciler.errors import UsageError
from reconciler.importers.documents import ImportResult
from reconciler.importers.heartbeat import convert, import_files, render_yaml
from reconciler.importers.source import MAX_INPUT_BYTES, SourceText
from reconciler.loader import load_paths
from reconciler.model.declared import DeclaredState

REPO = Path(__file__).resolve().parents[2]
# A copy of the shared heartbeat tutorial files (ha.cf, haresources), kept with the tests
# so that they run from any clone.
TUTORIAL = Path(__file__).parent / "data" / "heartbeat-tutorial"
MANIFESTS = REPO / "manifests"

QUIET_FENCE = "stonith_host * apcmaster 192.0.2.50 apc pw\n"
"""A fence device that maps natively, so it adds no warning."""

BASE_CF = """\
keepalive 1
deadtime 10
auto_failback off
node n1 n2
stonith_host * apcmaster 192.0.2.50 apc pw
"""
"""A quiet ha.cf: valid timings, two nodes, fencing; no warnings of its own."""


def run(ha_cf: str = BASE_CF, haresources: str = "", **options: Any) -> ImportResult:
    return convert(
        SourceText("ha.cf", dedent(ha_cf)),
        SourceText("haresources", dedent(haresources)),
        **options,
    )


def docs_of(result: ImportResult, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in result.documents if d["kind"] == kind}


def spec(result: ImportResult, kind: str, name: str) -> dict[str, Any]:
    return docs_of(result, kind)[name]["spec"]  # type: ignore[no-any-return]


def warnings(result: ImportResult) -> list[str]:
    return [str(w) for w in result.warnings]


def error_of(ha_cf: str = BASE_CF, haresources: str = "") -> str:
    with pytest.raises(UsageError) as caught:
        run(ha_cf, haresources)
    return str(caught.value)


def load_yaml_stream(text: str) -> list[dict[str, Any]]:
    return [doc for doc in YAML(typ="safe").load_all(text) if doc is not None]


def check_manifests(documents: Iterable[dict[str, Any]]) -> DeclaredState:
    """The project's loader accepts the documents: schema, references, duplicates."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "manifests.yaml"
        with path.open("w") as handle:
            YAML(typ="safe").dump_all(list(documents), handle)
        return load_paths([path])


@pytest.fixture(scope="module")
def result() -> ImportResult:
    """The heartbeat tutorial, imported once."""
    return import_files(TUTORIAL / "ha.cf", TUTORIAL / "haresources")


class TestTutorialImport:
    """The heartbeat tutorial's two-node cluster imports to exactly the expected manifests."""

    def test_documents_validate_and_references_resolve(self, result: ImportResult) -> None:
        check_manifests(result.documents)

    def test_exactly_the_expected_objects(self, result: ImportResult) -> None:
        names = [(d["kind"], d["metadata"]["name"]) for d in result.documents]
        assert names == [
            ("Cluster", "linux-ha"),
            ("Node", "node1"),
            ("Node", "node2"),
            ("FenceDevice", "rps10-node1"),
            ("FenceDevice", "rps10-node2"),
            ("Resource", "apache-drbd"),
            ("Resource", "apache-ip"),
            ("Resource", "apache-fs"),
            ("Resource", "apache-service"),
            ("Group", "apache"),
            ("Location", "apache-prefers-node1"),
            ("Location", "apache-needs-connectivity"),
            ("Colocation", "apache-with-apache-drbd"),
            ("Order", "apache-drbd-before-apache"),
            ("Resource", "mysql-drbd"),
            ("Resource", "mysql-ip"),
            ("Resource", "mysql-fs"),
            ("Resource", "mysql-service"),
            ("Group", "mysql"),
            ("Location", "mysql-prefers-node2"),
            ("Location", "mysql-needs-connectivity"),
            ("Colocation", "mysql-with-mysql-drbd"),
            ("Order", "mysql-drbd-before-mysql"),
        ]

    def test_cluster_timings_failback_fencing_and_connectivity(self, result: ImportResult) -> None:
        cluster = spec(result, "Cluster", "linux-ha")
        assert cluster["timing"] == {
            "keepalive": "200ms",
            "warntime": "500ms",
            "deadtime": "1s",
            "initdeadtime": "30s",
        }
        assert cluster["autoFailback"] is False
        assert cluster["stonith"] == {"enabled": True}
        assert cluster["connectivity"] == {
            "targets": ["10.10.10.254"],
            "interval": "200ms",
            "attribute": "pingd",
            "multiplier": 1000,
            "dampen": "1s",
        }

    def test_groups_keep_the_line_order_without_the_drbd_disk(self, result: ImportResult) -> None:
        assert spec(result, "Group", "apache")["resources"] == [
            "apache-ip",
            "apache-fs",
            "apache-service",
        ]
        assert spec(result, "Resource", "apache-ip") == {
            "agent": "ocf:heartbeat:IPaddr2",
            "params": {"ip": "10.10.10.11"},
        }
        assert spec(result, "Resource", "mysql-fs") == {
            "agent": "ocf:heartbeat:Filesystem",
            "params": {"device": "/dev/nb1", "directory": "/ha/mysql", "fstype": "ext3"},
        }
        assert spec(result, "Resource", "mysql-service") == {"agent": "lsb:mysql"}

    def test_drbd_disk_is_a_promotable_clone_the_group_follows(self, result: ImportResult) -> None:
        assert spec(result, "Resource", "apache-drbd") == {
            "agent": "ocf:linbit:drbd",
            "params": {"drbd_resource": "drbd0"},
            "clone": {"max": 2, "perNode": 1, "promotable": True, "promotedMax": 1},
        }
        assert spec(result, "Colocation", "apache-with-apache-drbd") == {
            "resource": "apache",
            "with": "apache-drbd",
            "score": "INFINITY",
            "withRole": "Promoted",
        }
        assert spec(result, "Order", "apache-drbd-before-apache") == {
            "first": "apache-drbd",
            "firstAction": "promote",
            "then": "apache",
            "thenAction": "start",
            "kind": "Mandatory",
        }

    def test_locations_prefer_the_first_field_node_and_need_connectivity(
        self, result: ImportResult
    ) -> None:
        assert spec(result, "Location", "mysql-prefers-node2") == {
            "resource": "mysql",
            "node": "node2",
            "score": 100,
        }
        assert spec(result, "Location", "mysql-needs-connectivity") == {
            "resource": "mysql",
            "rules": [{"attribute": "pingd", "op": "lt", "value": "1", "score": "-INFINITY"}],
        }

    def test_fence_devices_keep_the_plugin_and_its_parameters(self, result: ImportResult) -> None:
        device = docs_of(result, "FenceDevice")["rps10-node1"]
        assert device["spec"] == {
            "driver": "fence_legacy",
            "params": {"plugin": "rps10", "serial_to_targets": "/dev/ttyS1 node2 0"},
            "nodes": ["node2"],
        }
        assert device["metadata"]["annotations"] == {"heartbeat.hactl/stonith-host": "node1"}
        assert spec(result, "FenceDevice", "rps10-node2")["nodes"] == ["node1"]

    def test_media_lines_are_warnings(self, result: ImportResult) -> None:
        media = [str(w.origin.line) + " " + w.message.split(":")[0] for w in result.warnings]
        assert media[:4] == ["6 baud", "7 serial", "8 mcast", "9 bcast"]
        assert all(w.origin.file.endswith("ha.cf") for w in result.warnings)

    def test_output_loads_back_as_the_same_documents(self, result: ImportResult) -> None:
        assert load_yaml_stream(render_yaml(result)) == result.documents

    def test_the_printed_yaml_loads_as_manifests(
        self, result: ImportResult, tmp_path: Path
    ) -> None:
        path = tmp_path / "imported.yaml"
        path.write_text(render_yaml(result))
        state = load_paths([path])
        assert set(state.groups) == {"apache", "mysql"}
        assert state.group_of("apache-fs") is state.groups["apache"]


class TestTimings:
    """Timings are the ones heartbeat ran with: given values in its units, else its defaults."""

    def test_heartbeat_defaults_fill_what_is_not_given(self) -> None:
        timing = spec(
            run("node n1\nstonith_host * apcmaster 192.0.2.50 apc pw\n"), "Cluster", "linux-ha"
        )["timing"]
        assert timing == {
            "keepalive": "1s",
            "warntime": "15s",
            "deadtime": "30s",
            "initdeadtime": "30s",
        }

    @pytest.mark.parametrize(("deadtime", "initdead"), [("5", "12s"), ("8", "16s"), ("20", "20s")])
    def test_initdead_default_follows_deadtime_as_heartbeat_did(
        self, deadtime: str, initdead: str
    ) -> None:
        result = run(f"keepalive 1\ndeadtime {deadtime}\nnode n1\n{QUIET_FENCE}")
        assert spec(result, "Cluster", "linux-ha")["timing"]["initdeadtime"] == initdead

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("2", "2s"), ("0.5", "500ms"), ("1500ms", "1500ms"), ("250000us", "250ms"), ("3s", "3s")],
    )
    def test_units_bare_seconds_ms_us(self, text: str, expected: str) -> None:
        result = run(f"keepalive {text}\ndeadtime 60\nwarntime 30\nnode n1\n{QUIET_FENCE}")
        assert spec(result, "Cluster", "linux-ha")["timing"]["keepalive"] == expected

    @pytest.mark.parametrize("directive", ["initdead", "initdeadtime"])
    def test_initdead_under_either_name(self, directive: str) -> None:
        result = run(BASE_CF + f"{directive} 45\n")
        assert spec(result, "Cluster", "linux-ha")["timing"]["initdeadtime"] == "45s"

    def test_bad_time_is_an_error_at_its_line(self) -> None:
        assert error_of(BASE_CF + "warntime soon\n").startswith("ha.cf:6: 'soon' is not a time")

    def test_two_values_is_an_error(self) -> None:
        assert error_of("keepalive 1 2\n") == "ha.cf:1: keepalive takes exactly one value"

    def test_inconsistent_timers_are_reported_at_a_timing_line(self) -> None:
        message = error_of(
            "keepalive 2\ndeadtime 1\nnode n1\nstonith_host * apcmaster 192.0.2.50 apc pw\n"
        )
        assert message.startswith("ha.cf:2: Cluster/linux-ha: spec: ")
        assert "deadtime" in message

    def test_a_directive_given_twice_keeps_the_last_value_and_warns(self) -> None:
        result = run(BASE_CF + "deadtime 20\n")
        assert spec(result, "Cluster", "linux-ha")["timing"]["deadtime"] == "20s"
        assert warnings(result) == [
            "ha.cf:6: deadtime given again (first at ha.cf:2); this one counts"
        ]


class TestAutoFailback:
    """auto_failback on/off/legacy (and the obsolete nice_failback) become autoFailback."""

    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            ("auto_failback on", True),
            ("auto_failback off", False),
            ("auto_failback yes", True),
            ("auto_failback legacy", True),
            ("nice_failback on", False),
            ("nice_failback off", True),
        ],
    )
    def test_values(self, line: str, expected: bool) -> None:
        result = run(f"node n1\nstonith_host * apcmaster 192.0.2.50 apc pw\n{line}\n")
        assert spec(result, "Cluster", "linux-ha")["autoFailback"] is expected

    def test_legacy_and_absent_warn(self) -> None:
        legacy = run("node n1\nstonith_host * apcmaster 192.0.2.50 apc pw\nauto_failback legacy\n")
        absent = run("node n1\nstonith_host * apcmaster 192.0.2.50 apc pw\n")
        assert warnings(legacy) == ["ha.cf:3: auto_failback legacy: imported as autoFailback true"]
        assert warnings(absent)[0].startswith("ha.cf: auto_failback not set")

    def test_other_values_are_errors(self) -> None:
        assert error_of(BASE_CF + "auto_failback sometimes\n") == (
            "ha.cf:6: auto_failback 'sometimes': use on or off"
        )


class TestNodes:
    """`node` lines become Node objects named as heartbeat named them (lower case)."""

    def test_several_lines_and_names(self) -> None:
        result = run(
            "node n1 n2\nnode n3\nstonith_host * apcmaster 192.0.2.50 apc pw\nauto_failback on\n"
        )
        assert list(docs_of(result, "Node")) == ["n1", "n2", "n3"]
        assert spec(result, "Node", "n3") == {}

    def test_upper_case_is_lowered_with_a_warning(self) -> None:
        result = run(
            "node Alpha beta\nstonith_host * apcmaster 192.0.2.50 apc pw\nauto_failback on\n"
        )
        assert list(docs_of(result, "Node")) == ["alpha", "beta"]
        assert warnings(result) == [
            "ha.cf:1: node 'Alpha' became 'alpha' (heartbeat lowercased it)"
        ]

    def test_duplicates_differing_in_case_are_an_error(self) -> None:
        assert (
            error_of("node n1\nnode N1\n")
            == "ha.cf:2: node 'N1' is declared twice (first at ha.cf:1)"
        )

    @pytest.mark.parametrize("name", ["db1.example.com", "../etc", "a_b", "x" * 64])
    def test_names_that_are_not_labels_are_errors(self, name: str) -> None:
        assert error_of(f"node {name}\n").startswith(f"ha.cf:1: node {name!r}: not a valid")

    def test_no_nodes_is_an_error(self) -> None:
        assert error_of("keepalive 1\n") == "ha.cf: no node lines: declare the cluster's nodes"


class TestConnectivity:
    """ping nodes + ipfail/pingd become Cluster connectivity and a Location rule per group."""

    HARESOURCES = "n1 10.0.0.5 httpd\nn2 10.0.0.6 postfix\n"

    def test_ipfail_bans_nodes_without_connectivity_for_every_group(self) -> None:
        cf = BASE_CF + "ping 192.0.2.1 192.0.2.2\nrespawn hacluster /usr/lib/heartbeat/ipfail\n"
        result = run(cf, self.HARESOURCES)
        assert spec(result, "Cluster", "linux-ha")["connectivity"]["targets"] == [
            "192.0.2.1",
            "192.0.2.2",
        ]
        ruled = {name for name, d in docs_of(result, "Location").items() if "rules" in d["spec"]}
        assert ruled == {"httpd-needs-connectivity", "postfix-needs-connectivity"}
        assert warnings(result) == []

    def test_pingd_options_set_attribute_multiplier_dampen_and_targets(self) -> None:
        pingd = "/usr/lib/heartbeat/pingd -m 100 -d 5s -a net -h 192.0.2.9 -D"
        cf = BASE_CF + f"ping 192.0.2.1\nrespawn root {pingd}\n"
        result = run(cf, self.HARESOURCES)
        connectivity = spec(result, "Cluster", "linux-ha")["connectivity"]
        assert connectivity["targets"] == ["192.0.2.1", "192.0.2.9"]
        assert (connectivity["attribute"], connectivity["multiplier"]) == ("net", 100)
        assert connectivity["dampen"] == "5s"
        rule = spec(result, "Location", "httpd-needs-connectivity")["rules"][0]
        assert rule["attribute"] == "net"
        assert warnings(result) == ["ha.cf:7: pingd options not imported: -D"]

    def test_deadping_becomes_dampen(self) -> None:
        cf = BASE_CF + "deadping 4\nping 192.0.2.1\nrespawn hacluster ipfail\n"
        assert spec(run(cf), "Cluster", "linux-ha")["connectivity"]["dampen"] == "4s"

    def test_ping_nodes_without_ipfail_add_no_rules(self) -> None:
        result = run(BASE_CF + "ping 192.0.2.1\n", self.HARESOURCES)
        assert "connectivity" in spec(result, "Cluster", "linux-ha")
        assert all("rules" not in d["spec"] for d in docs_of(result, "Location").values())
        assert warnings(result)[0].startswith("ha.cf:6: ping nodes without ipfail or pingd")

    def test_ipfail_without_ping_nodes_is_a_warning(self) -> None:
        result = run(BASE_CF + "respawn hacluster /usr/lib/heartbeat/ipfail\n", self.HARESOURCES)
        assert "connectivity" not in spec(result, "Cluster", "linux-ha")
        assert warnings(result) == [
            "ha.cf:6: ipfail/pingd without ping nodes: nothing to check, not imported"
        ]

    def test_ping_group_members_become_targets_with_a_warning(self) -> None:
        result = run(BASE_CF + "ping_group uplinks 192.0.2.1 192.0.2.2\n")
        assert spec(result, "Cluster", "linux-ha")["connectivity"]["targets"] == [
            "192.0.2.1",
            "192.0.2.2",
        ]
        assert warnings(result)[0].startswith("ha.cf:6: ping_group uplinks: its addresses")

    def test_other_respawned_helpers_are_warnings(self) -> None:
        result = run(BASE_CF + "respawn root /usr/local/bin/watcher --loud\n")
        assert warnings(result) == [
            "ha.cf:6: respawn watcher: not imported: hactl runs no helper processes; "
            "declare it as a resource if it is still needed"
        ]

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ("-m 0", "pingd -m '0'"),
            ("-a 'bad name'", 'pingd -a "\'bad"'),
            ("-d forever", "'forever'"),
        ],
    )
    def test_bad_pingd_options_are_errors(self, options: str, message: str) -> None:
        cf = BASE_CF + f"ping 192.0.2.1\nrespawn root pingd {options}\n"
        assert error_of(cf).startswith(f"ha.cf:7: {message}")


class TestStonith:
    """stonith_host / stonith become FenceDevices; native fence-agents only when lossless."""

    def device(self, line: str, nodes: str = "n1 n2 n3") -> tuple[dict[str, Any], list[str]]:
        result = run(f"auto_failback on\nnode {nodes}\n{line}\n")
        [document] = docs_of(result, "FenceDevice").values()
        return document, warnings(result)

    def test_apcmaster_becomes_fence_apc_with_renamed_options(self) -> None:
        device, notes = self.device("stonith_host n1 apcmaster 192.0.2.50 apc s3cret")
        assert device["metadata"]["name"] == "apcmaster-n1"
        assert device["spec"] == {
            "driver": "fence_apc",
            "params": {"ip": "192.0.2.50", "username": "apc", "password": "s3cret"},
            "nodes": ["n2", "n3"],
        }
        assert all("s3cret" not in note for note in notes)

    def test_external_ipmi_fences_its_host_name_with_lanplus(self) -> None:
        device, _ = self.device("stonith_host * external/ipmi n2 192.0.2.12 admin pw lanplus")
        assert device["metadata"] == {"name": "ipmi"}
        assert device["spec"] == {
            "driver": "fence_ipmilan",
            "params": {"ip": "192.0.2.12", "username": "admin", "password": "pw", "lanplus": "1"},
            "nodes": ["n2"],
        }

    def test_ipmilan_translates_auth_and_privilege(self) -> None:
        device, _ = self.device("stonith_host n1 ipmilan n3 192.0.2.13 623 straight admin root pw")
        assert device["spec"]["driver"] == "fence_ipmilan"
        assert device["spec"]["params"] == {
            "ip": "192.0.2.13",
            "ipport": "623",
            "auth": "password",
            "privlvl": "administrator",
            "username": "root",
            "password": "pw",
        }
        assert device["spec"]["nodes"] == ["n3"]

    def test_a_value_without_equivalent_keeps_the_plugin_through_fence_legacy(self) -> None:
        device, notes = self.device("stonith_host n1 ipmilan n3 192.0.2.13 623 md2 admin root pw")
        assert device["spec"]["driver"] == "fence_legacy"
        assert device["spec"]["params"]["plugin"] == "ipmilan"
        assert device["spec"]["params"]["auth"] == "md2"
        assert "auth 'md2' has no fence_ipmilan equivalent" in notes[0]

    def test_last_parameter_takes_the_rest_of_the_line(self) -> None:
        device, notes = self.device("stonith_host * meatware n1 n2", nodes="n1 n2")
        assert device["spec"]["params"] == {"plugin": "meatware", "hostlist": "n1 n2"}
        assert device["spec"]["nodes"] == ["n1", "n2"]
        assert "meatclient" in notes[0]
        assert "annotations" not in device["metadata"]

    def test_missing_parameters_are_an_error(self) -> None:
        assert error_of("node n1 n2\nstonith_host n1 apcmaster 192.0.2.50\n") == (
            "ha.cf:2: STONITH type apcmaster needs 3 parameters: ipaddr login password"
        )

    def test_undeclared_from_host_is_an_error(self) -> None:
        assert error_of("node n1 n2\nstonith_host n9 null n1\n") == (
            "ha.cf:2: stonith_host names 'n9', which no node line declares"
        )

    def test_unknown_type_is_a_warning_without_a_device(self) -> None:
        result = run("node n1 n2\nauto_failback on\nstonith_host * external/frobnicator a b\n")
        assert docs_of(result, "FenceDevice") == {}
        assert spec(result, "Cluster", "linux-ha")["stonith"] == {"enabled": True}
        assert "'external/frobnicator' is not known" in warnings(result)[0]

    def test_stonith_with_a_config_file_does_not_read_it(self) -> None:
        result = run("node n1 n2\nauto_failback on\nstonith baytech /etc/ha.d/baytech.cfg\n")
        assert spec(result, "FenceDevice", "baytech") == {
            "driver": "fence_legacy",
            "params": {"plugin": "baytech"},
            "nodes": ["n1", "n2"],
        }
        assert "/etc/ha.d/baytech.cfg, which was not read" in warnings(result)[0]

    def test_no_stonith_disables_it_with_a_warning(self) -> None:
        result = run("node n1 n2\nauto_failback on\n")
        assert spec(result, "Cluster", "linux-ha")["stonith"] == {"enabled": False}
        assert warnings(result)[0].startswith("ha.cf: no stonith_host or stonith line")


class TestResourceMapping:
    """Each haresources entry maps to the agent heartbeat's resource.d script wrapped."""

    def resources(self, line: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
        result = run(BASE_CF, f"n1 {line}\n")
        return {n: d["spec"] for n, d in docs_of(result, "Resource").items()}, warnings(result)

    @pytest.mark.parametrize(
        ("entry", "params"),
        [
            ("192.0.2.10", {"ip": "192.0.2.10"}),
            ("192.0.2.10/24/eth1", {"ip": "192.0.2.10", "cidr_netmask": "24", "nic": "eth1"}),
            ("IPaddr::192.0.2.10/24", {"ip": "192.0.2.10", "cidr_netmask": "24"}),
            (
                "IPaddr2::192.0.2.10/24/eth0/192.0.2.255",
                {
                    "ip": "192.0.2.10",
                    "cidr_netmask": "24",
                    "nic": "eth0",
                    "broadcast": "192.0.2.255",
                },
            ),
        ],
    )
    def test_addresses_become_ipaddr2(self, entry: str, params: dict[str, str]) -> None:
        resources, _ = self.resources(f"{entry} nginx")
        assert resources["nginx-ip"] == {"agent": "ocf:heartbeat:IPaddr2", "params": params}

    def test_filesystem_with_options(self) -> None:
        resources, _ = self.resources("Filesystem::/dev/sdb1::/srv::xfs::noatime,ro")
        assert resources["group-1-fs"]["params"] == {
            "device": "/dev/sdb1",
            "directory": "/srv",
            "fstype": "xfs",
            "options": "noatime,ro",
        }

    @pytest.mark.parametrize(
        ("entry", "agent", "params"),
        [
            (
                "MailTo::ops@example.com::failover",
                "ocf:heartbeat:MailTo",
                {"email": "ops@example.com", "subject": "failover"},
            ),
            ("IPsrcaddr::192.0.2.10", "ocf:heartbeat:IPsrcaddr", {"ipaddress": "192.0.2.10"}),
            (
                "apache::/etc/apache2/apache2.conf",
                "ocf:heartbeat:apache",
                {"configfile": "/etc/apache2/apache2.conf"},
            ),
            (
                "portblock::tcp::80::block",
                "ocf:heartbeat:portblock",
                {"protocol": "tcp", "portno": "80", "action": "block"},
            ),
        ],
    )
    def test_known_ocf_wrappers_with_arguments(
        self, entry: str, agent: str, params: dict[str, str]
    ) -> None:
        resources, _ = self.resources(entry)
        [resource] = resources.values()
        assert resource == {"agent": agent, "params": params}

    @pytest.mark.parametrize("name", ["apache", "mysql", "postgresql-9.1", "named@internal"])
    def test_bare_names_are_init_scripts(self, name: str) -> None:
        resources, notes = self.resources(name)
        assert list(resources.values()) == [{"agent": f"lsb:{name}"}]
        assert notes == []

    def test_unknown_name_with_arguments_is_an_init_script_with_a_warning(self) -> None:
        resources, notes = self.resources("myapp::fast::quiet")
        assert resources["myapp-service"] == {"agent": "lsb:myapp"}
        assert notes == [
            "haresources:1: myapp::fast::quiet: no OCF agent is known for 'myapp', so it became "
            "the init script lsb:myapp, which takes no arguments ('fast::quiet' was dropped)"
        ]

    @pytest.mark.parametrize(
        ("entry", "message"),
        [
            (
                "Filesystem::/dev/sdb1",
                "Filesystem needs directory: Filesystem::device::directory::fstype::options",
            ),
            ("Filesystem", "Filesystem needs device, directory"),
            ("MailTo::a::b::c", "MailTo takes at most 2 arguments"),
            ("IPaddr::300.1.1.1", "'300.1.1.1' is not an IPv4 address"),
            ("IPaddr", "IPaddr takes one argument"),
            ("192.0.2.1/24/eth0/x/y", "'192.0.2.1/24/eth0/x/y': too many '/' fields"),
            ("drbddisk", "drbddisk needs one DRBD resource name"),
            ("::r0", "'::r0': a resource needs a name"),
            (";rm", "';rm' is not a usable init script name"),
            ("$(reboot)", "'$(reboot)' is not a usable init script name"),
        ],
    )
    def test_malformed_entries_are_errors_at_their_line(self, entry: str, message: str) -> None:
        assert error_of(BASE_CF, f"\nn1 {entry}\n").startswith(f"haresources:2: {message}")

    def test_datadisk_and_drbddisk_are_the_same_thing(self) -> None:
        result = run(BASE_CF, "n1 datadisk::r0 httpd\nn2 drbddisk::r1 smbd\n")
        assert spec(result, "Resource", "httpd-drbd")["params"] == {"drbd_resource": "r0"}
        assert spec(result, "Resource", "smbd-drbd")["clone"]["promotable"] is True

    def test_a_line_of_only_drbd_disks_places_the_promoted_role(self) -> None:
        result = run(BASE_CF, "n2 drbddisk::r0\n")
        assert docs_of(result, "Group") == {}
        assert spec(result, "Location", "group-1-prefers-n2") == {
            "resource": "group-1-drbd",
            "node": "n2",
            "score": 100,
            "role": "Promoted",
        }
        check_manifests(result.documents)

    def test_drbd_on_more_than_two_nodes_warns(self) -> None:
        result = run(
            "node a b c\nstonith_host * apcmaster 192.0.2.50 apc pw\nauto_failback on\n",
            "a drbddisk::r0 nfs\n",
        )
        assert warnings(result) == [
            "haresources:1: Resource nfs-drbd: DRBD runs on 2 of the 3 nodes; add Locations for "
            "the nodes that hold DRBD resource 'r0'"
        ]


class TestHaresourcesSyntax:
    """Continuations, comments, and lines are read as heartbeat read them."""

    def test_continuations_and_comments(self) -> None:
        haresources = """\
            # the web service
            n1 192.0.2.10 \\
               Filesystem::/dev/sdb1::/srv::ext4 \\   # data
               nginx   # the daemon

            n2 postfix # mail
        """
        result = run(BASE_CF, haresources)
        assert spec(result, "Group", "nginx")["resources"] == [
            "nginx-ip",
            "nginx-fs",
            "nginx-service",
        ]
        assert spec(result, "Group", "postfix")["resources"] == ["postfix-service"]
        comments = [d.comment for d in result.drafts if d.comment]
        assert comments == [
            "haresources:2: n1 192.0.2.10 Filesystem::/dev/sdb1::/srv::ext4 nginx",
            "haresources:6: n2 postfix",
        ]

    def test_crlf_line_ends_and_a_trailing_backslash(self) -> None:
        result = run(BASE_CF, "n1 192.0.2.10 \\\r\n  nginx \\")
        assert spec(result, "Group", "nginx")["resources"] == ["nginx-ip", "nginx-service"]

    def test_error_on_a_continued_line_names_that_line(self) -> None:
        assert error_of(BASE_CF, "n1 192.0.2.10 \\\n  Filesystem::/dev/x\n").startswith(
            "haresources:2: Filesystem needs directory"
        )

    def test_undeclared_node_is_an_error(self) -> None:
        assert (
            error_of(BASE_CF, "\n\nn7 nginx\n")
            == "haresources:3: 'n7' is not a node declared in ha.cf"
        )

    def test_node_names_match_without_case(self) -> None:
        assert "nginx-prefers-n1" in docs_of(run(BASE_CF, "N1 nginx\n"), "Location")

    def test_a_node_without_resources_is_an_error(self) -> None:
        assert error_of(BASE_CF, "n1\n") == "haresources:1: no resources after the node name 'n1'"


class TestNaming:
    """Names are DNS-1123 labels, unique, and derived from the line's service."""

    def test_group_is_named_after_the_last_service(self) -> None:
        result = run(BASE_CF, "n1 192.0.2.10 Squid named\n")
        assert spec(result, "Group", "named")["resources"] == [
            "named-ip",
            "named-squid",
            "named-service",
        ]

    def test_a_line_without_service_is_numbered(self) -> None:
        result = run(BASE_CF, "n1 nginx\nn2 192.0.2.11 Filesystem::/dev/sdc::/x\n")
        assert spec(result, "Group", "group-2")["resources"] == ["group-2-ip", "group-2-fs"]

    def test_repeated_names_get_a_suffix(self) -> None:
        result = run(BASE_CF, "n1 192.0.2.10 192.0.2.11 nginx\nn2 nginx\n")
        assert spec(result, "Group", "nginx")["resources"] == [
            "nginx-ip",
            "nginx-ip-2",
            "nginx-service",
        ]
        assert spec(result, "Group", "nginx-2")["resources"] == ["nginx-2-service"]
        check_manifests(result.documents)

    def test_odd_script_names_become_labels(self) -> None:
        result = run(BASE_CF, "n1 My_Daemon.init\n")
        assert spec(result, "Group", "my-daemon-init")["resources"] == ["my-daemon-init-service"]
        assert spec(result, "Resource", "my-daemon-init-service") == {"agent": "lsb:My_Daemon.init"}

    def test_cluster_name_from_ha_cf_or_option(self) -> None:
        assert "web" in docs_of(run(BASE_CF + "cluster web\n"), "Cluster")
        assert "prod" in docs_of(run(BASE_CF + "cluster web\n", cluster_name="prod"), "Cluster")
        with pytest.raises(UsageError, match="--name 'Bad_Name'"):
            run(cluster_name="Bad_Name")


class TestIgnoredDirectives:
    """Whatever ha.cf says that hactl does not use is a warning naming its line, never silent."""

    def test_every_media_line_is_a_warning(self) -> None:
        media = (
            "serial /dev/ttyS0\nbaud 19200\nbcast eth1\nmcast eth0 225.0.0.1 694 1 0\n"
            "ucast eth0 192.0.2.2\nudpport 694\n"
        )
        result = run(BASE_CF + media)
        assert [w.origin.line for w in result.warnings] == [6, 7, 8, 9, 10, 11]
        assert all("communication medium" in w.message for w in result.warnings)

    def test_known_settings_say_why_they_are_not_imported(self) -> None:
        result = run(BASE_CF + "logfacility local0\ncrm on\nwatchdog /dev/watchdog\n")
        assert warnings(result) == [
            "ha.cf:6: logfacility: not imported: hactl logs through its own structured log",
            "ha.cf:7: crm: not imported: a heartbeat 2 CRM setting; hactl has its own scheduler",
            "ha.cf:8: watchdog: not imported: hactl's watchdog fencing is stonith.watchdogTimeout "
            "in the Cluster; set it by hand",
        ]

    def test_unknown_directives_are_warnings(self) -> None:
        assert warnings(run(BASE_CF + "frobnicate yes\n")) == [
            "ha.cf:6: frobnicate: unknown directive, ignored"
        ]


class TestReadingFiles:
    """Unreadable input is one UsageError naming the file (and line), never a traceback."""

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(UsageError, match=r"ha\.cf: no such file$"):
            import_files(tmp_path / "ha.cf", tmp_path / "haresources")

    def test_a_directory(self, tmp_path: Path) -> None:
        with pytest.raises(UsageError, match="is a directory"):
            import_files(tmp_path, tmp_path)

    def test_not_utf8_names_the_line(self, tmp_path: Path) -> None:
        (tmp_path / "ha.cf").write_bytes(b"node n1\n# caf\xe9\n")
        (tmp_path / "haresources").write_text("")
        with pytest.raises(UsageError, match=r"ha\.cf:2: not UTF-8 text$"):
            import_files(tmp_path / "ha.cf", tmp_path / "haresources")

    def test_nul_bytes(self, tmp_path: Path) -> None:
        (tmp_path / "ha.cf").write_text(BASE_CF)
        (tmp_path / "haresources").write_bytes(b"n1 nginx\x00\n")
        with pytest.raises(UsageError, match=r"haresources:1: contains a NUL byte"):
            import_files(tmp_path / "ha.cf", tmp_path / "haresources")

    def test_huge_files(self, tmp_path: Path) -> None:
        (tmp_path / "ha.cf").write_text("#" * (MAX_INPUT_BYTES + 1))
        with pytest.raises(UsageError, match="larger than"):
            import_files(tmp_path / "ha.cf", tmp_path / "ha.cf")


class TestOutput:
    """The YAML stream is stable, loads back unchanged, and carries its provenance."""

    def test_stable_and_round_trips(self) -> None:
        result = run(
            BASE_CF + "ping 192.0.2.1\nrespawn hacluster ipfail\n",
            "n1 192.0.2.10 datadisk::r0 nginx\n",
        )
        text = render_yaml(result)
        assert text == render_yaml(
            run(
                BASE_CF + "ping 192.0.2.1\nrespawn hacluster ipfail\n",
                "n1 192.0.2.10 datadisk::r0 nginx\n",
            )
        )
        assert load_yaml_stream(text) == result.documents

    def test_values_with_yaml_indicators_round_trip(self) -> None:
        odd = "n1 MailTo::ops@example.com::[db]:down,{now}&*!|>'%\"` named@internal\n"
        result = run(BASE_CF, odd)
        assert load_yaml_stream(render_yaml(result)) == result.documents
        assert spec(result, "Resource", "named-internal-mailto")["params"]["subject"] == (
            "[db]:down,{now}&*!|>'%\"`"
        )

    def test_control_characters_cannot_escape_comments(self) -> None:
        result = convert(
            SourceText("ha.cf\nkind: Evil\u2028x", BASE_CF),
            SourceText("haresources", "n1 MailTo::a@example.com::x\x1b[2J nginx\n"),
        )
        text = render_yaml(result)
        assert load_yaml_stream(text) == result.documents
        assert all(
            line.startswith(("#", "---")) for line in text.split("apiVersion")[0].splitlines()
        )

    def test_header_names_the_sources_and_repeats_the_warnings(self) -> None:
        text = render_yaml(run(BASE_CF + "bcast eth0\n", "n1 nginx\n"))
        header = text.split("---", 1)[0]
        assert "#   ha.cf:       ha.cf" in header
        assert "#   haresources: haresources" in header
        assert "#   ha.cf:6: bcast: a heartbeat communication medium" in header
        assert "# haresources:1: n1 nginx\n" in text


class TestCommand:
    """`hactl import heartbeat HA_CF HARESOURCES` prints YAML, or one error line and exit 2."""

    def test_tutorial_prints_yaml_and_warnings(self) -> None:
        result = CliRunner().invoke(
            import_group, ["heartbeat", str(TUTORIAL / "ha.cf"), str(TUTORIAL / "haresources")]
        )
        assert result.exit_code == 0, result.stderr
        documents = load_yaml_stream(result.stdout)
        check_manifests(documents)
        assert len(documents) == 23
        assert result.stderr.count("warning: ") == 6
        assert "communication medium" in result.stderr

    def test_name_option(self) -> None:
        result = CliRunner().invoke(
            import_group,
            [
                "heartbeat",
                "--name",
                "tutorial",
                str(TUTORIAL / "ha.cf"),
                str(TUTORIAL / "haresources"),
            ],
        )
        assert load_yaml_stream(result.stdout)[0]["metadata"]["name"] == "tutorial"

    @pytest.mark.parametrize(
        ("ha_cf", "haresources", "expected"),
        [
            (
                BASE_CF,
                "n1 Filesystem::/dev/x\n",
                "error: {dir}/haresources:1: Filesystem needs directory",
            ),
            ("keepalive fast\n", "", "error: {dir}/ha.cf:1: 'fast' is not a time"),
            (None, "", "error: {dir}/ha.cf: no such file"),
        ],
    )
    def test_bad_input_exits_2_with_one_line(
        self, tmp_path: Path, ha_cf: str | None, haresources: str, expected: str
    ) -> None:
        if ha_cf is not None:
            (tmp_path / "ha.cf").write_text(ha_cf)
        (tmp_path / "haresources").write_text(haresources)
        result = CliRunner().invoke(
            import_group, ["heartbeat", str(tmp_path / "ha.cf"), str(tmp_path / "haresources")]
        )
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith(expected.format(dir=tmp_path))
        assert "Traceback" not in result.stderr


class TestExampleManifests:
    """The example clusters in manifests/ load cleanly: schema, references, no duplicates."""

    @pytest.mark.parametrize("example", ["tutorial", "demo"])
    def test_example_loads(self, example: str) -> None:
        state = load_paths([MANIFESTS / example])
        assert state.cluster.metadata.name == example

    def test_tutorial_keeps_what_the_importer_made(self) -> None:
        """The hand clean-up kept every imported object, under the same name."""
        kept = {(d.kind, d.metadata.name) for d in load_paths([MANIFESTS / "tutorial"])}
        imported = import_files(
            TUTORIAL / "ha.cf", TUTORIAL / "haresources", cluster_name="tutorial"
        )
        assert {(d["kind"], d["metadata"]["name"]) for d in imported.documents} == kept

    def test_demo_needs_no_root(self) -> None:
        state = load_paths([MANIFESTS / "demo"])
        assert {r.spec.agent.split(":")[0] for r in state.resources.values()} == {"hactl"}
        assert {f.spec.driver for f in state.fence_devices.values()} == {"fence_process"}
        assert list(state.nodes) == ["node1", "node2", "node3"]
        assert state.cluster.spec.timing.deadtime.milliseconds == 1000
        assert state.cluster.spec.stonith.enabled
