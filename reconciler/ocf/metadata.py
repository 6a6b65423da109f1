"""An agent's meta-data: the `resource-agent` XML document its `meta-data` action prints.

hactl reads it for the parameters an agent takes (required, unique, defaults) and the
timeouts it advises per action. The document comes from an executable that may be
third-party or broken, so it is parsed with expat directly and refused when it
declares entities or carries an internal DTD subset (no entity expansion bombs, no
external entities); a `<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">` line, as
Debian's agents print, is harmless and accepted: expat never loads an external DTD
(an entity it would define is simply left out). That guard is all defusedxml would
add here, so it is not a dependency.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

MAX_METADATA_BYTES = 1024 * 1024

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$")
_ISO_DURATION = re.compile(r"^P?T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$")
_UNIT_SECONDS = {
    None: 1.0,
    "s": 1.0,
    "sec": 1.0,
    "ms": 0.001,
    "msec": 0.001,
    "us": 0.000001,
    "usec": 0.000001,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
}
_TRUE = {"1", "true", "yes", "on"}


class MetadataError(ValueError):
    """The meta-data is not a usable resource-agent document; the message says why."""


@dataclass(frozen=True)
class Parameter:
    """A parameter the agent takes (OCF_RESKEY_<name>)."""

    name: str
    required: bool = False
    unique: bool = False
    type: str = "string"
    default: str | None = None
    shortdesc: str = ""


@dataclass(frozen=True)
class Action:
    """An action the agent advertises, with the timeout and interval it advises."""

    name: str
    timeout: float | None = None
    """Seconds the agent advises for this action, if it says."""
    interval: float | None = None
    role: str | None = None


@dataclass(frozen=True)
class AgentMetadata:
    """What an agent says about itself."""

    name: str
    version: str | None
    """The agent's own version (the version attribute), not the OCF API's."""
    shortdesc: str
    parameters: tuple[Parameter, ...]
    actions: tuple[Action, ...]

    @property
    def action_names(self) -> frozenset[str]:
        return frozenset(action.name for action in self.actions)

    @property
    def promotable(self) -> bool:
        """The agent can run as a promotable clone (it has promote and demote)."""
        return {"promote", "demote"} <= self.action_names

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def timeout(self, action: str, default: float) -> float:
        """The agent's advised timeout for `action` (the first declaration), else `default`."""
        for declared in self.actions:
            if declared.name == action and declared.timeout is not None:
                return declared.timeout
        return default


def parse_duration(text: str) -> float | None:
    """Seconds in a meta-data duration (`20s`, `20`, `500ms`, `2min`, `PT1M`); None if not one."""
    if match := _DURATION.match(text):
        return float(match[1]) * _UNIT_SECONDS[match[2]]
    if (match := _ISO_DURATION.match(text.strip().upper())) and any(match.groups()):
        hours, minutes, seconds = (float(group or 0) for group in match.groups())
        return hours * 3600 + minutes * 60 + seconds
    return None


def parse_metadata(document: str | bytes) -> AgentMetadata:
    """Parse an agent's meta-data; MetadataError with the precise reason if it is unusable."""
    data = document.encode() if isinstance(document, str) else document
    if len(data) > MAX_METADATA_BYTES:
        raise MetadataError(f"meta-data is larger than {MAX_METADATA_BYTES} bytes")
    if not data.strip():
        raise MetadataError("meta-data is empty")
    root = _parse_xml(data)
    if root.tag != "resource-agent":
        raise MetadataError(f"root element is <{root.tag}>, not <resource-agent>")
    name = root.get("name", "").strip()
    if not name:
        raise MetadataError("<resource-agent> has no name")
    actions_element = root.find("actions")
    if actions_element is None:
        raise MetadataError("no <actions> element")
    parameters = tuple(_parameter(element) for element in root.iterfind("parameters/parameter"))
    names = [parameter.name for parameter in parameters]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise MetadataError(f"parameter declared twice: {', '.join(duplicates)}")
    actions = tuple(_action(element) for element in actions_element.iterfind("action"))
    if not actions:
        raise MetadataError("<actions> lists no action")
    return AgentMetadata(
        name=name,
        version=root.get("version"),
        shortdesc=_text(root.find("shortdesc")),
        parameters=parameters,
        actions=actions,
    )


def _parse_xml(data: bytes) -> Element:
    builder = TreeBuilder()
    parser = expat.ParserCreate()

    def doctype(_name: str, _system: Any, _public: Any, internal_subset: int) -> None:
        if internal_subset:
            raise MetadataError("meta-data with an internal DTD subset is refused")

    def entity(*_: Any) -> None:
        raise MetadataError("meta-data declaring entities is refused")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise MetadataError(f"meta-data is not well-formed XML: {exc}") from None
    return builder.close()


def _parameter(element: Element) -> Parameter:
    name = element.get("name", "").strip()
    if not name:
        raise MetadataError("a <parameter> has no name")
    content = element.find("content")
    return Parameter(
        name=name,
        required=element.get("required", "0").strip().lower() in _TRUE,
        unique=element.get("unique", "0").strip().lower() in _TRUE,
        type=(content.get("type") if content is not None else None) or "string",
        default=content.get("default") if content is not None else None,
        shortdesc=_text(element.find("shortdesc")),
    )


def _action(element: Element) -> Action:
    name = element.get("name", "").strip()
    if not name:
        raise MetadataError("an <action> has no name")
    return Action(
        name=name,
        timeout=_duration(element, name, "timeout"),
        interval=_duration(element, name, "interval"),
        role=element.get("role"),
    )


def _duration(element: Element, action: str, attribute: str) -> float | None:
    text = element.get(attribute)
    if text is None:
        return None
    seconds = parse_duration(text)
    if seconds is None:
        raise MetadataError(f"action {action}: {attribute} {text!r} is not a duration")
    return seconds


def _text(element: Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""
