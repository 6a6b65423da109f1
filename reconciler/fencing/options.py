"""What a fence driver reads on stdin, and how its secrets are kept out of everything else.

The fence-agents API: one `key=value` line per option; the driver reads them until end of
file. A device's params go first, in declared order, then hactl's own options: `action`,
`port` and `plug` (both: older agents read `port`, newer ones `plug`, fence-agents maps both
to the same option) and `nodename`, which Pacemaker always passes too. Values are sent as
their string form (booleans as `true`/`false`, which fence-agents' flags accept).

Refused before anything runs, with messages that never quote a value:

- a value with a line break: it would smuggle in another option (`ip: "x\\naction=on"`);
- params named `action`, `option` or `nodename`: hactl sets those;
- `port`/`plug` params on a device that lists several nodes: they name one node's plug, and
  using it for another node would power off the wrong machine and report success.

A param `<name>_file` whose `<name>` is a secret (`password_file`, `passwd_file`) is read
here, at each fencing, and sent as `<name>=<contents>`: that is how a manifest keeps the
password out of git (the `secrets_inline` lint) while agents such as `fence_ipmilan`, which
know `password` and `password_script` but no file, still get it. The file must not be
readable by group or others (SPEC §5: heartbeat's authkeys rule).

Every secret value — of a secret param or read from a secret file — is collected, so that
`redact` can mask it in whatever the driver prints.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.loader.lints import is_secret_param
from reconciler.model.kinds import FenceDevice

MASK = "***"
RESERVED = ("action", "option", "nodename")
TARGET_PARAMS = ("port", "plug")
SECRET_FILE_LIMIT = 64 * 1024


class OptionsError(Exception):
    """The device's params cannot be sent to its driver. The message quotes no value."""


@dataclass(frozen=True, slots=True)
class DriverInput:
    """What a driver gets on stdin, and the values to mask in anything it prints."""

    text: str
    secrets: tuple[str, ...]


def param_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read_secret_file(name: str, path: str) -> str:
    """A secret file's contents without its final line break; refused if others can read it."""
    try:
        with open(path, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise OptionsError(f"param {name}: {path} is not a regular file")
            if mode & 0o044:
                raise OptionsError(f"param {name}: {path} is readable by group or others")
            data = f.read(SECRET_FILE_LIMIT + 1)
    except OSError as error:
        raise OptionsError(f"param {name}: cannot read {path}: {error.strerror}") from None
    if len(data) > SECRET_FILE_LIMIT:
        raise OptionsError(f"param {name}: {path} is larger than {SECRET_FILE_LIMIT} bytes")
    return data.decode(errors="replace").removesuffix("\n").removesuffix("\r")


def _secret_file_stem(name: str) -> str | None:
    stem = name.removesuffix("_file")
    return stem if stem != name and is_secret_param(stem) else None


def device_params(device: FenceDevice) -> tuple[dict[str, str], list[str]]:
    """The params as strings, secret files resolved; and the secret values among them."""
    options: dict[str, str] = {}
    secrets: list[str] = []
    for name, value in device.spec.params.items():
        stem = _secret_file_stem(name)
        if stem is not None:
            if stem in device.spec.params:
                raise OptionsError(f"params {stem} and {name} are both set")
            options[stem] = read_secret_file(name, param_text(value))
            secrets.append(options[stem])
        else:
            options[name] = param_text(value)
            if is_secret_param(name):
                secrets.append(options[name])
    return options, secrets


def driver_input(device: FenceDevice, *, node: str, action: str) -> DriverInput:
    """The stdin for running `action` against `node` through `device`."""
    options, secrets = device_params(device)
    for name in RESERVED:
        if name in options:
            raise OptionsError(f"param {name} is reserved: hactl sets it")
    plug = next((options.pop(name) for name in TARGET_PARAMS if name in options), node)
    for name in TARGET_PARAMS:
        options.pop(name, None)
    if plug != node and len(device.spec.nodes) > 1:
        raise OptionsError("a port or plug param is only allowed on a device for one node")
    options |= {"action": action, "port": plug, "plug": plug, "nodename": node}
    for name, value in options.items():
        if "\n" in value or "\r" in value or "\0" in value:
            raise OptionsError(f"param {name} contains a line break or NUL byte")
    text = "".join(f"{name}={value}\n" for name, value in options.items())
    return DriverInput(text, tuple(s for s in secrets if s))


def redact(text: str, secrets: Iterable[str], *, cut: bool = False) -> str:
    """`text` with every secret masked.

    `cut`: the text was truncated at its end, so a secret may be there only in part; any
    prefix of a secret that the text ends with is masked too.
    """
    ordered = sorted(set(secrets), key=len, reverse=True)  # a secret inside a longer one
    for secret in ordered:
        text = text.replace(secret, MASK)
    if cut:
        for secret in ordered:
            for length in range(len(secret) - 1, 0, -1):
                if text.endswith(secret[:length]):
                    text = text[:-length] + MASK
                    break
    return text
