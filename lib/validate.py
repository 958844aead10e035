"""Declared request bodies: strict JSON types and bounds, each refusal a 422 naming the field at fault."""

from __future__ import annotations

import re

from lib.errors import ValidationFailed

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and unpaired surrogates: PostgreSQL and UTF-8 refuse them

# Written by hand rather than with pydantic, to keep pydantic out of every cold start (README, Dependencies).
# Messages are pydantic's own, lower-cased, and the fault named is the one pydantic would name first:
# tests/test_properties.py checks each route's body against a pydantic model on any input.

_NAMES = {str: "string", bool: "boolean", int: "integer", list: "list"}


class Field:
    """One field: its JSON type (strictly: true is not a string, 1 not a boolean, true not an integer), its rules."""

    __slots__ = ("kind", "required", "nullable", "choices", "max_length", "min_length", "minimum", "maximum", "items")

    def __init__(self, kind: type, *, required: bool = False, nullable: bool = False, choices: tuple = (),
                 max_length: int | None = None, min_length: int | None = None, minimum: int | None = None,
                 maximum: int | None = None, items: Body | None = None):
        self.kind, self.required, self.nullable, self.choices = kind, required, nullable, choices
        self.max_length, self.min_length, self.minimum, self.maximum = max_length, min_length, minimum, maximum
        self.items = items  # a list's items: the Body each one must match

    def check(self, value, path: str):
        """The value once checked (a list's items built by their Body); ValidationFailed naming `path` otherwise."""
        if self.choices:
            if type(value) is not self.kind or value not in self.choices:
                raise ValidationFailed(path, "input should be " + _one_of(self.choices))
            return value
        if type(value) is not self.kind:
            raise ValidationFailed(path, f"input should be a valid {_NAMES[self.kind]}")
        if self.minimum is not None and value < self.minimum:
            raise ValidationFailed(path, f"input should be greater than or equal to {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValidationFailed(path, f"input should be less than or equal to {self.maximum}")
        if self.kind is str:
            self._length(len(value), path, "character", "")
        elif self.kind is list:
            tail = f" after validation, not {len(value)}"
            self._length(len(value), path, "item", tail, longest_only=True)  # before any item
            if self.items is not None:
                value = [self.items.parse(item, f"{path}.{index}") for index, item in enumerate(value)]
            self._length(len(value), path, "item", tail)
        return value

    def _length(self, length: int, path: str, unit: str, tail: str, longest_only: bool = False) -> None:
        """pydantic's too_long / too_short refusal when the length is out of bounds."""
        what = "string" if self.kind is str else "list"
        if self.max_length is not None and length > self.max_length:
            raise ValidationFailed(path, f"{what} should have at most {_count(self.max_length, unit)}{tail}")
        if not longest_only and self.min_length is not None and length < self.min_length:
            raise ValidationFailed(path, f"{what} should have at least {_count(self.min_length, unit)}{tail}")


class Body:
    """A JSON object's fields, checked in the order declared, then any other key refused; built into `build`."""

    def __init__(self, build, **fields: Field):
        self.build, self.fields = build, fields

    def parse(self, data, path: str = ""):
        """`build(**the fields present)`, null counting as absent where allowed; ValidationFailed at the first fault."""
        if type(data) is not dict:
            raise ValidationFailed(path or "body", "input should be a valid dictionary")
        prefix = f"{path}." if path else ""
        values = {}
        for name, field in self.fields.items():
            if name not in data:
                if field.required:
                    raise ValidationFailed(prefix + name, "field required")
            elif data[name] is not None or not field.nullable:
                values[name] = field.check(data[name], prefix + name)
        for name in data:
            if name not in self.fields:
                raise ValidationFailed((prefix + name) or "body", "extra inputs are not permitted")
        return self.build(**values)


def _one_of(choices: tuple) -> str:
    """pydantic's wording for a literal's values: 'a', 'b' or 'c'."""
    quoted = [repr(choice) for choice in choices]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _count(number: int, unit: str) -> str:
    """A count and its unit: 1 item, 4 items."""
    return f"{number} {unit}{'' if number == 1 else 's'}"


def storable(value: str | None, path: str) -> str | None:
    """`value` if every store can keep it; 422 naming `path` for a NUL or an unpaired surrogate (before any cost)."""
    if value is not None and _UNSTORABLE.search(value):
        raise ValidationFailed(path, "must not contain NUL or unpaired surrogate characters")
    return value


TITLE_MAX_CHARS = 200


def title(raw: str, path: str = "title") -> str:
    """A conversation's or room's title: one trimmed line of 1..TITLE_MAX_CHARS storable characters; 422 otherwise."""
    line = " ".join(storable(raw, path).split())
    if not line:
        raise ValidationFailed(path, "must not be blank")
    if len(line) > TITLE_MAX_CHARS:
        raise ValidationFailed(path, f"must be at most {TITLE_MAX_CHARS} characters")
    return line
