"""Intake questions of a category (Open311 service-definition attributes), checked once for
the city pack and the Open311 channel alike."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from jiesu.errors import ConfigError

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
LIST_TYPES = ("singlevaluelist", "multivaluelist")


class ValueDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)


class AttributeDef(BaseModel):
    """One question of a service definition, as the spec describes it."""

    model_config = ConfigDict(extra="forbid")

    variable: bool = True
    # Codes travel inside "attribute[CODE]": brackets would break the form key; a leading
    # underscore is reserved for what the channel itself stores beside the answers.
    code: str = Field(min_length=1, max_length=100, pattern=r"^[^\[\]_][^\[\]]*$")
    datatype: Datatype
    required: bool = False
    datatype_description: str = ""
    order: int = Field(ge=1)
    description: str = ""
    values: list[ValueDef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _values_match_datatype(self) -> AttributeDef:
        if self.datatype in LIST_TYPES:
            if not self.values:
                raise ValueError(f"{self.datatype} {self.code!r} needs at least one value")
            keys = [v.key for v in self.values]
            if len(set(keys)) != len(keys):
                raise ValueError(f"{self.code!r} has the same value key twice")
        elif self.values:
            raise ValueError(f"{self.datatype} {self.code!r} cannot have values")
        return self


def validate_definition(raw: Any) -> list[AttributeDef]:
    """Attribute definitions checked and sorted by ``order``; ConfigError says what is wrong."""
    if not isinstance(raw, list):
        raise ConfigError("attributes must be a list of attribute definitions")
    try:
        defs = [AttributeDef.model_validate(item) for item in raw]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "attribute"
        raise ConfigError(f"attribute definition: {where}: {first['msg']}") from None
    for what in ("code", "order"):
        seen = [getattr(d, what) for d in defs]
        dupes = sorted({str(v) for v in seen if seen.count(v) > 1})
        if dupes:
            raise ConfigError(f"attribute {what} used twice: {', '.join(dupes)}")
    return sorted(defs, key=lambda d: d.order)
