"""A notebook's parameters, as a user passes them: declared types, parsing from text, checking.

Every parameter a study notebook declares in its ``parameters`` cell has a type here. A value
given as text (``reproduce -p seeds=0,1,2``, or plain papermill's ``-p seeds '[0, 1, 2]'``,
which hands the notebook a string) is parsed by that type: a YAML literal (``[0, 1, 2]``,
``0.05``, ``null``) or, for a list, comma-separated items. A name no notebook declares, or a
value of the wrong type, is refused naming both and what is allowed, before any work.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import yaml


@dataclass(frozen=True)
class ParameterType:
    """``item``: int, float or str; ``many``: a list of them; ``optional``: None allowed (the
    profile's default); ``words``: strings allowed in place of the list (``methods="all"``)."""

    item: type
    many: bool = False
    optional: bool = True
    words: tuple[str, ...] = ()

    def describe(self) -> str:
        text = f"a list of {self.item.__name__}" if self.many else self.item.__name__
        extra = [f"{w!r}" for w in self.words] + (["None (the profile's default)"] if self.optional else [])
        return text + (f", or {' or '.join(extra)}" if extra else "")


# Every parameter of the study notebooks (their ``parameters`` cells), by name.
TYPES: dict[str, ParameterType] = {
    "profile": ParameterType(str, optional=False),
    "dataset": ParameterType(str, optional=False),
    "datasets": ParameterType(str, many=True, optional=False),
    "seeds": ParameterType(int, many=True),
    "methods": ParameterType(str, many=True, words=("all",)),
    "fractions": ParameterType(float, many=True),
    "forget_fraction": ParameterType(float, optional=False),
    "forget_size": ParameterType(int),
    "score": ParameterType(str, optional=False),
    "tuning_dataset": ParameterType(str),
    "quality_dataset": ParameterType(str),
    "n_models": ParameterType(int),
    "examples_per_class": ParameterType(int, optional=False),
}


class ParameterError(ValueError):
    """A notebook parameter the notebook does not declare, or a value it cannot take."""


def _item(kind: type, value: Any) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ParameterError


def coerce(name: str, value: Any) -> Any:
    """``value`` as parameter ``name`` takes it; text is parsed first (see the module docstring)."""
    if name not in TYPES:
        raise ParameterError(f"unknown notebook parameter {name!r}; known: {', '.join(sorted(TYPES))}")
    ptype, given = TYPES[name], value
    try:
        return _coerce(ptype, value)
    except ParameterError:
        raise ParameterError(f"parameter {name}={given!r} is not allowed; {name} must be {ptype.describe()}") from None


def _coerce(ptype: ParameterType, value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            value = None
        elif ptype.many and text not in ptype.words and not text.startswith("["):
            value = [yaml.safe_load(part) for part in text.split(",") if part.strip()] if text.lower() not in ("none", "null") else None
        else:
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError:
                raise ParameterError from None
    if value is None:
        if ptype.optional:
            return None
        raise ParameterError
    if isinstance(value, str) and value in ptype.words:
        return value
    if ptype.many:
        if not isinstance(value, (list, tuple)) or not value:
            raise ParameterError
        return [_item(ptype.item, v) for v in value]
    return _item(ptype.item, value)


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """``["seeds=0,1,2", "dataset=ham10000"]`` as ``{name: text}``; a malformed one is refused."""
    parsed = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        if not sep or not name.strip():
            raise ParameterError(f"-p {assignment!r} is not allowed; write -p NAME=VALUE, e.g. -p seeds=0,1,2")
        parsed[name.strip()] = text
    return parsed


def checked(declared: Mapping[str, Any], given: Mapping[str, Any], notebook: str) -> dict[str, Any]:
    """``given`` coerced, each name one that ``notebook`` declares (``declared``: its defaults)."""
    unknown = [name for name in given if name not in declared]
    if unknown:
        raise ParameterError(f"notebook {notebook} has no parameter {unknown[0]!r}; its parameters: {', '.join(declared)}")
    return {name: coerce(name, value) for name, value in given.items()}
