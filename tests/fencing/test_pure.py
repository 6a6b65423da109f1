"""The pure parts of fencing: choosing devices, writing a driver's stdin, masking secrets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.fencing import OptionsError, driver_input, levels_for, redact
from tests.fencing.devices import device


class TestLevelsFor:
    """A node's devices, grouped by level, sorted by level then name."""

    def test_groups_and_sorts(self) -> None:
        devices = [
            device("zeta", level=2),
            device("beta", level=1),
            device("other", level=1, nodes=("n2",)),
            device("alpha", level=1, nodes=("n2", "n1")),
            device("gamma", level=5),
        ]
        levels = levels_for("n1", devices)
        assert [(lv.number, lv.names) for lv in levels] == [
            (1, ("alpha", "beta")),
            (2, ("zeta",)),
            (5, ("gamma",)),
        ]

    def test_none_for_an_unlisted_node(self) -> None:
        assert levels_for("n9", [device("a"), device("b", level=2)]) == []


class TestDriverInput:
    """Params in declared order, then action, port, plug and nodename, one per line."""

    def test_the_stdin_fence_ipmilan_reads(self) -> None:
        ipmi = device("ipmi", ip="198.18.0.50", username="admin", password="pw", lanplus=True)
        given_input = driver_input(ipmi, node="n1", action="reboot")
        assert given_input.text == (
            "name=ipmi\nip=198.18.0.50\nusername=admin\npassword=pw\nlanplus=true\n"
            "action=reboot\nport=n1\nplug=n1\nnodename=n1\n"
        )
        assert given_input.secrets == ("pw",)

    def test_numbers_and_false(self) -> None:
        text = driver_input(device("d", ipport=623, delay=1.5, ssl=False), node="n1", action="off")
        assert "ipport=623\ndelay=1.5\nssl=false\n" in text.text

    def test_a_plug_param_on_a_one_node_device_names_the_plug(self) -> None:
        outlet = device("pdu", nodes=("n1",), plug="7")
        text = driver_input(outlet, node="n1", action="off").text
        assert text.endswith("action=off\nport=7\nplug=7\nnodename=n1\n")

    def test_password_and_password_file_together_are_refused(self) -> None:
        both = device("d", password="x", password_file="/etc/hactl/pw")
        with pytest.raises(OptionsError, match="params password and password_file are both set"):
            driver_input(both, node="n1", action="off")

    def test_a_non_secret_file_param_is_passed_as_a_path(self) -> None:
        ssh = device("d", identity_file="/root/.ssh/id", password_script="/bin/pw")
        text = driver_input(ssh, node="n1", action="off").text
        assert "identity_file=/root/.ssh/id\npassword_script=/bin/pw\n" in text


class TestRedact:
    """Every occurrence of every secret is masked, and so is a secret cut off at the end."""

    def test_masks_all_occurrences_longest_first(self) -> None:
        text = "pw=abc token=abcdef again abc"
        assert redact(text, ["abc", "abcdef"]) == "pw=*** token=*** again ***"

    def test_masks_a_secret_cut_at_the_end(self) -> None:
        assert redact("login ok, password=hunt", ["hunter2"], cut=True) == (
            "login ok, password=***"
        )
        assert redact("password=hunt", ["hunter2"]) == "password=hunt"

    @given(st.text(), st.text(min_size=1).filter(lambda s: "*" not in s), st.booleans())
    def test_no_secret_survives(self, text: str, secret: str, cut: bool) -> None:
        masked = redact(text + secret + text + secret[:-1], [secret], cut=cut)
        assert secret not in masked
