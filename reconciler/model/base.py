"""Shared pieces of every manifest kind: the strict base model, names, metadata."""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

API_VERSION: Final = "hactl/v1alpha1"

NAME_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$"
PARAM_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
ATTRIBUTE_NAME_PATTERN = r"^[A-Za-z_#][-A-Za-z0-9_.#]{0,127}$"
LABEL_KEY_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_./]{0,251}[A-Za-z0-9])?$"
MAX_VALUE_LENGTH = 4096


class Strict(BaseModel):
    """Base of every manifest model: frozen, unknown fields refused, no type coercion.

    Fields are snake_case in Python and camelCase in manifests (Kubernetes habit).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=False,
    )


def _check_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL byte")
    return value


Text = Annotated[str, Field(max_length=MAX_VALUE_LENGTH), AfterValidator(_check_text)]
"""Free text from an operator: bounded, and never a NUL byte (it could not reach an agent)."""

Name = Annotated[str, Field(pattern=NAME_PATTERN, description="a DNS-1123 label (letters kept)")]
ParamName = Annotated[str, Field(pattern=PARAM_NAME_PATTERN)]
AttributeName = Annotated[str, Field(pattern=ATTRIBUTE_NAME_PATTERN)]
ScalarValue = Annotated[
    str | int | float | bool, AfterValidator(lambda v: _check_text(v) if isinstance(v, str) else v)
]
"""A parameter or attribute value; passed to agents as its string form."""


class Metadata(Strict):
    name: Name
    labels: dict[Annotated[str, Field(pattern=LABEL_KEY_PATTERN)], Text] = Field(
        default_factory=dict
    )
    annotations: dict[Annotated[str, Field(pattern=LABEL_KEY_PATTERN)], Text] = Field(
        default_factory=dict
    )


def is_valid_name(text: str) -> bool:
    return re.fullmatch(NAME_PATTERN, text) is not None
