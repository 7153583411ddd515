"""Declared constraints on parameter values, checked before any work starts.

In the spirit of scikit-learn's ``_parameter_constraints``: a parameter's domain is a tuple
of constraints and a value is allowed when it satisfies any of them. ``Interval(Real, 0,
None, closed="neither")`` is a positive number, ``Options(str, {"group", "image"})`` one of
two names, ``None`` the value None, a type (``str``) any instance of it. Scenario parameters
(``scenarios``) and every method's hyper-parameters (``Hyperparameters.domains``, declared in the
method's own module, from the shared domains at the end of this one) are declared with them, so
``validation`` can refuse a bad grid before the first image loads.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

_CLOSED = ("left", "right", "both", "neither")


class Constraint:
    """A set of allowed values: ``is_satisfied_by(value)`` and ``str()`` in words."""

    def is_satisfied_by(self, value: Any) -> bool:
        raise NotImplementedError


def _is_number(value: Any, kind: type) -> bool:
    # YAML reads `true` as a bool and Python counts bool as an integer: not a number here.
    return isinstance(value, kind) and not isinstance(value, bool)


@dataclass(frozen=True)
class Interval(Constraint):
    """Numbers of ``type`` (``Integral`` or ``Real``) between ``low`` and ``high`` (None: unbounded).

    ``closed`` says which ends belong to the interval: "left", "right", "both" or "neither".
    ``Real`` accepts integers too (YAML reads ``1`` as an integer); NaN is never inside.
    """

    type: type
    low: float | None
    high: float | None
    closed: str = "both"

    def __post_init__(self) -> None:
        if self.type not in (Integral, Real):
            raise ValueError(f"Interval type must be numbers.Integral or numbers.Real; got {self.type!r}")
        if self.closed not in _CLOSED:
            raise ValueError(f"Interval closed must be one of {_CLOSED}; got {self.closed!r}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"Interval low must not exceed high; got low={self.low}, high={self.high}")

    def is_satisfied_by(self, value: Any) -> bool:
        if not _is_number(value, self.type) or (isinstance(value, float) and math.isnan(value)):
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed not in ("left", "both")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed not in ("right", "both")):
                return False
        return True

    def __str__(self) -> str:
        kind = "an integer" if self.type is Integral else "a number"
        left, right = self.closed in ("left", "both"), self.closed in ("right", "both")
        if self.low is not None and self.high is not None:
            return f"{kind} in {'[' if left else '('}{self.low}, {self.high}{']' if right else ')'}"
        if self.low is not None:
            return f"{kind} {'>=' if left else '>'} {self.low}"
        if self.high is not None:
            return f"{kind} {'<=' if right else '<'} {self.high}"
        return kind


@dataclass(frozen=True)
class Options(Constraint):
    """One of the values in ``options`` (kept in the given order for messages), of ``type``."""

    type: type
    options: tuple

    def __init__(self, type: type, options: Iterable) -> None:  # noqa: A002 (sklearn's name)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "options", tuple(options))

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.type) and (self.type is bool or not isinstance(value, bool)) and value in self.options

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)


@dataclass(frozen=True)
class InstanceOf(Constraint):
    """Any instance of ``type``; ``words`` says what it is (e.g. "a class name")."""

    type: type
    words: str = ""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, self.type) and not (self.type is not bool and isinstance(value, bool))

    def __str__(self) -> str:
        return self.words or f"a {self.type.__name__}"


@dataclass(frozen=True)
class IsNone(Constraint):
    def is_satisfied_by(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None (null)"


Domain = tuple[Constraint, ...]


def domain(*constraints: Constraint | type | None) -> Domain:
    """A domain from constraints, as scikit-learn lists them: ``None`` allows None, a type any instance."""
    made = []
    for c in constraints:
        if c is None:
            made.append(IsNone())
        elif isinstance(c, type):
            made.append(InstanceOf(c))
        elif isinstance(c, Constraint):
            made.append(c)
        else:
            raise TypeError(f"a constraint is a Constraint, a type or None; got {c!r}")
    if not made:
        raise ValueError("a domain needs at least one constraint")
    return tuple(made)


def allowed(constraints: Domain) -> str:
    """What a domain allows, in words."""
    return " or ".join(str(c) for c in constraints)


def satisfied(value: Any, constraints: Domain) -> bool:
    """Whether ``value`` satisfies any constraint of the domain."""
    return any(c.is_satisfied_by(value) for c in constraints)


def problem(name: str, value: Any, constraints: Domain) -> str | None:
    """None when ``value`` lies in the domain, else ``"name=value is not allowed; name must be ..."``."""
    if satisfied(value, constraints):
        return None
    return f"{name}={value!r} is not allowed; {name} must be {allowed(constraints)}"


def require(name: str, value: Any, constraints: Domain) -> None:
    """Raise ValueError with :func:`problem`'s message when ``value`` is outside the domain."""
    if (wrong := problem(name, value, constraints)) is not None:
        raise ValueError(wrong)


# ---------------------------------------------------------------- shared hyper-parameter domains

# The words the methods declare their hyper-parameters' domains with. Each method declares its
# own fields' domains beside its code (``Hyperparameters.domains`` in its module under
# ``unlearnlib/algorithms/``); these are the domains that mean the same in every method.
POSITIVE = Interval(Real, 0, None, closed="neither")
NON_NEGATIVE = Interval(Real, 0, None, closed="left")
AT_LEAST_ONE = Interval(Integral, 1, None, closed="left")

EPOCHS = domain(AT_LEAST_ONE)
LEARNING_RATE = domain(POSITIVE)
BATCH_SIZE = domain(AT_LEAST_ONE)
WEIGHT = domain(NON_NEGATIVE)  # a loss weight, decay or noise scale: 0 switches it off
SHARE = domain(Interval(Real, 0, 1, closed="right"))  # a share of something: 0 would be none of it
