"""Meta-data documents: what hactl reads from them, and what it refuses to parse."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.ocf import AgentMetadata, MetadataError, parse_duration, parse_metadata

DOCUMENT = """<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Example" version="2.3">
<version>1.1</version>
<shortdesc lang="en">An   example
agent</shortdesc>
<parameters>
<parameter name="config" required="1" unique="1">
<shortdesc lang="en">Config file</shortdesc>
<content type="string" default="/etc/example.conf"/>
</parameter>
<parameter name="debug" unique="0">
<content type="boolean" default="false"/>
</parameter>
<parameter name="extra"/>
</parameters>
<actions>
<action name="start" timeout="90"/>
<action name="stop" timeout="2min"/>
<action name="monitor" timeout="20s" interval="10s" role="Promoted"/>
<action name="monitor" timeout="30s" interval="11s" role="Unpromoted"/>
<action name="promote" timeout="500ms"/>
<action name="demote" timeout="PT1M"/>
<action name="meta-data"/>
</actions>
</resource-agent>
"""


def agent_document(body: str, *, prolog: str = "") -> str:
    return f'<?xml version="1.0"?>{prolog}<resource-agent name="X">{body}</resource-agent>'


class TestParse:
    """A valid document gives the agent's parameters and the timeouts it advises."""

    def test_parameters(self) -> None:
        metadata = parse_metadata(DOCUMENT)
        assert metadata.name == "Example"
        assert metadata.version == "2.3"
        assert metadata.shortdesc == "An example agent"
        config = metadata.parameter("config")
        assert config is not None
        assert (config.required, config.unique, config.default) == (True, True, "/etc/example.conf")
        assert config.shortdesc == "Config file"
        debug = metadata.parameter("debug")
        assert debug is not None
        assert (debug.required, debug.unique, debug.type, debug.default) == (
            False,
            False,
            "boolean",
            "false",
        )
        extra = metadata.parameter("extra")
        assert extra is not None and extra.default is None and extra.type == "string"
        assert metadata.parameter("missing") is None

    def test_actions_and_timeouts(self) -> None:
        metadata = parse_metadata(DOCUMENT.encode())
        assert metadata.promotable
        assert metadata.timeout("start", 20) == 90
        assert metadata.timeout("stop", 20) == 120
        assert metadata.timeout("monitor", 20) == 20  # the first declaration
        assert metadata.timeout("promote", 20) == 0.5
        assert metadata.timeout("demote", 20) == 60
        assert metadata.timeout("meta-data", 7) == 7  # declared without a timeout
        assert metadata.timeout("notify", 7) == 7  # not declared at all
        roles = [(a.role, a.interval) for a in metadata.actions if a.name == "monitor"]
        assert roles == [("Promoted", 10), ("Unpromoted", 11)]

    def test_not_promotable_without_demote(self) -> None:
        metadata = parse_metadata(agent_document('<actions><action name="promote"/></actions>'))
        assert isinstance(metadata, AgentMetadata)
        assert not metadata.promotable
        assert metadata.parameters == ()


class TestRefused:
    """Documents that are not usable meta-data are refused with the precise reason."""

    @pytest.mark.parametrize(
        ("document", "reason"),
        [
            ("", "meta-data is empty"),
            ("usage: agent {start|stop}", "not well-formed XML"),
            ("<resource-agent name='x'><actions>", "not well-formed XML"),
            ("<agent name='x'/>", "root element is <agent>, not <resource-agent>"),
            ("<resource-agent><actions/></resource-agent>", "<resource-agent> has no name"),
            (agent_document(""), "no <actions> element"),
            (agent_document("<actions/>"), "<actions> lists no action"),
            (agent_document("<actions><action/></actions>"), "an <action> has no name"),
            (
                agent_document('<actions><action name="start" timeout="soon"/></actions>'),
                "action start: timeout 'soon' is not a duration",
            ),
            (
                agent_document(
                    '<parameters><parameter name="a"/><parameter name="a"/></parameters>'
                    '<actions><action name="start"/></actions>'
                ),
                "parameter declared twice: a",
            ),
            (
                agent_document("<parameters><parameter/></parameters><actions/>"),
                "a <parameter> has no name",
            ),
        ],
    )
    def test_reason(self, document: str, reason: str) -> None:
        with pytest.raises(MetadataError, match=reason.replace("|", r"\|")):
            parse_metadata(document)

    def test_entity_expansion_bomb(self) -> None:
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><resource-agent name="&b;"/>'
        )
        with pytest.raises(MetadataError, match="internal DTD subset is refused"):
            parse_metadata(bomb)

    def test_external_dtd_is_never_loaded(self, tmp_path: Path) -> None:
        (tmp_path / "secret").write_text("LEAKED")
        dtd = tmp_path / "evil.dtd"
        dtd.write_text(f'<!ENTITY secret SYSTEM "file://{tmp_path}/secret">')
        document = (
            f'<?xml version="1.0"?><!DOCTYPE resource-agent SYSTEM "file://{dtd}">'
            '<resource-agent name="x"><shortdesc>&secret;</shortdesc>'
            '<actions><action name="a"/></actions></resource-agent>'
        )
        assert parse_metadata(document).shortdesc == ""

    def test_too_large(self) -> None:
        with pytest.raises(MetadataError, match="larger than"):
            parse_metadata(b" " * (1024 * 1024 + 1))

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=300) | st.text(max_size=300))
    def test_any_input_parses_or_is_refused(self, document: bytes | str) -> None:
        with contextlib.suppress(MetadataError):
            parse_metadata(document)


class TestDuration:
    """Durations as agents write them: Pacemaker's units, bare seconds, ISO 8601."""

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("20", 20),
            ("20s", 20),
            (" 20 sec ", 20),
            ("1.5s", 1.5),
            ("500ms", 0.5),
            ("250msec", 0.25),
            ("2m", 120),
            ("2min", 120),
            ("1h", 3600),
            ("1hr", 3600),
            ("1000us", 0.001),
            ("PT1M30S", 90),
            ("PT2H", 7200),
        ],
    )
    def test_valid(self, text: str, seconds: float) -> None:
        assert parse_duration(text) == pytest.approx(seconds)

    @pytest.mark.parametrize("text", ["", "s", "soon", "-5s", "5 days", "PT", "P1D"])
    def test_invalid(self, text: str) -> None:
        assert parse_duration(text) is None
