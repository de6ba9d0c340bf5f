"""Reading HTML forms and carrying their errors back to the page, field by field."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from pydantic import ValidationError

from jiesu.errors import JiesuError

MAX_FIELD = 20_000  # no form field of ours is longer; a bigger one is refused by the model


@dataclass
class FormErrors:
    """Problems by field name (as the form names it); "" holds those of the whole form."""

    by_field: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def add(self, name: str, zh: str, en: str | None = None) -> None:
        self.by_field.setdefault(name, []).append((zh, en if en is not None else zh))

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def of(self, name: str) -> list[tuple[str, str]]:
        return self.by_field.get(name, [])

    def all(self) -> list[tuple[str, str, str]]:
        return [(name, zh, en) for name, msgs in self.by_field.items() for zh, en in msgs]

    def _name(self, path: str, prefix_map: dict[str, str] | None) -> str:
        for prefix, replacement in (prefix_map or {}).items():
            if path.startswith(prefix):
                return replacement + path.removeprefix(prefix)
        return path

    def from_validation(
        self, exc: ValidationError, prefix_map: dict[str, str] | None = None
    ) -> None:
        for e in exc.errors():
            path = ".".join(str(p) for p in e["loc"]) or ""
            msg = e["msg"].removeprefix("Value error, ")
            self.add(self._name(path, prefix_map), msg, msg)

    def from_error(self, exc: JiesuError, prefix_map: dict[str, str] | None = None) -> None:
        if exc.fields:
            for f in exc.fields:
                name = self._name(f.get("field", ""), prefix_map)
                self.add(name, f.get("problem", exc.message))
        else:
            self.add("", exc.message)


async def form_dict(request: Request) -> dict[str, str]:
    """The submitted form as plain strings (files and repeated names are not used here)."""
    form = await request.form()
    out: dict[str, str] = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key not in out:
            out[key] = value[:MAX_FIELD]
    return out
