"""A grid's inputs checked whole, before any work starts, against what the registries declare.

Like scikit-learn's ``_parameter_constraints``: every scenario declares the domain of each
parameter (``@register_scenario(name, params=...)``), every method's hyper-parameter field has
a domain declared beside the method (``Hyperparameters.domains``, the same ``Interval`` /
``Options``), and
the profiles and datasets are registries. What depends on the dataset but not on its images
(a class name, whether it records sex) is checked against the dataset table. ``grid_problems``
lists everything wrong with a grid at once, each message naming the offending key or value and
what is allowed; ``validate_grid`` raises them as one :class:`GridError`. Nothing here loads
data, so a bad grid is refused in seconds. What depends on the images (a forget size larger
than the training split) is still checked by the scenario itself.
"""
from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from ..algorithms import available as available_methods
from ..algorithms import get_method, hyperparameter_domain
from ..constraints import problem
from ..data import DATASETS
from ..data import available as available_datasets
from ..profiles import PROFILES
from ..scenarios import get_scenario, scenario_problems

GRID_KEYS = ("profile", "datasets", "scenarios", "methods", "seeds", "hyperparameters")


class GridError(ValueError):
    """One or more problems with a grid's inputs; ``problems`` lists them."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n > 1 else ''} in the grid:\n" + "\n".join(f"  - {p}" for p in self.problems))


def validate_grid(options: Mapping[str, Any]) -> None:
    """Raise :class:`GridError` listing every problem of ``options`` (see :func:`grid_problems`)."""
    problems = grid_problems(options)
    if problems:
        raise GridError(problems)


def grid_problems(options: Mapping[str, Any]) -> list[str]:
    """Every problem with a grid, as messages; an empty list when it is valid.

    ``options`` is the dict of a YAML config or of ``python -m unlearnlib run``: keys from
    ``GRID_KEYS``; ``profile`` a profile name; ``datasets`` a list of dataset names;
    ``scenarios`` a list of ``[name, {parameter: value}]`` pairs; ``methods`` ``"all"`` or
    a list of method names; ``seeds`` a list of non-negative integers; ``hyperparameters``
    ``{method: {field: value}}``. Keys left out are not checked (the command line fills
    in defaults first).
    """
    if not isinstance(options, Mapping):
        return [f"a grid is a mapping with keys {', '.join(GRID_KEYS)}; got {type(options).__name__} {options!r}"]
    problems = [_unknown("grid key", key, GRID_KEYS) for key in options if key not in GRID_KEYS]
    checks = {
        "profile": _profile_problems,
        "datasets": _dataset_problems,
        "scenarios": _scenario_problems,
        "methods": _method_problems,
        "seeds": _seed_problems,
        "hyperparameters": _hyperparameter_problems,
    }
    for key, check in checks.items():
        if key in options:
            problems += check(options[key])
    if "datasets" in options and "scenarios" in options:
        problems += _scenario_dataset_problems(options["datasets"], options["scenarios"])
    return problems


def _unknown(what: str, value: Any, known: Sequence[str], where: str = "") -> str:
    close = difflib.get_close_matches(str(value), list(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {value!r}{where}{hint}; known: {', '.join(known)}"


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _profile_problems(profile: Any) -> list[str]:
    return [] if isinstance(profile, str) and profile in PROFILES else [_unknown("profile", profile, list(PROFILES))]


def _dataset_problems(datasets: Any) -> list[str]:
    if not _is_list(datasets) or not datasets:
        return [f"datasets must be a non-empty list of dataset names, e.g. [ham10000]; got {datasets!r}"]
    return [_unknown("dataset", d, available_datasets()) for d in datasets if d not in available_datasets()]


def _scenario_problems(scenarios: Any) -> list[str]:
    if not _is_list(scenarios) or not scenarios:
        return [f"scenarios must be a non-empty list of [name, {{parameter: value}}] pairs; got {scenarios!r}"]
    problems = []
    for entry in scenarios:
        if not (_is_list(entry) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], Mapping)):
            problems.append(f"a scenario must be a [name, {{parameter: value}}] pair, e.g. [random, {{fraction: 0.1}}]; got {entry!r}")
        else:
            problems += scenario_problems(entry[0], entry[1])
    return problems


def _scenario_dataset_problems(datasets: Any, scenarios: Any) -> list[str]:
    """Scenario values that the dataset table refuses (``class:label=nosuch``), once each.

    Only pairs that passed the checks above: their problems are reported there already."""
    if not (_is_list(datasets) and _is_list(scenarios)):
        return []
    problems = []
    for entry in scenarios:
        if not (_is_list(entry) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], Mapping)):
            continue
        name, params = entry
        if scenario_problems(name, params):
            continue
        for dataset in datasets:
            if dataset in DATASETS:
                problems += [p for p in get_scenario(name).dataset_problems(DATASETS[dataset], params) if p not in problems]
    return problems


def _method_problems(methods: Any) -> list[str]:
    if methods == "all":
        return []
    if not _is_list(methods) or not methods:
        return [f"methods must be 'all' or a non-empty list of method names; got {methods!r}"]
    return [_unknown("method", m, available_methods()) for m in methods if m not in available_methods()]


def _seed_problems(seeds: Any) -> list[str]:
    if seeds is None:
        return []
    if not _is_list(seeds) or not seeds:
        return [f"seeds must be a non-empty list of non-negative integers, e.g. [0, 1, 2]; got {seeds!r}"]
    return [f"seed {s!r} is not allowed; seeds must be non-negative integers" for s in seeds
            if isinstance(s, bool) or not isinstance(s, int) or s < 0]


def _hyperparameter_problems(hyperparameters: Any) -> list[str]:
    if hyperparameters is None:
        return []
    if not isinstance(hyperparameters, Mapping):
        return [f"hyperparameters must map a method to {{field: value}}, e.g. {{finetune: {{lr: 0.01}}}}; got {hyperparameters!r}"]
    problems = []
    for method, values in hyperparameters.items():
        if method not in available_methods():
            problems.append(_unknown("method", method, available_methods(), " in hyperparameters"))
        elif not isinstance(values, Mapping):
            problems.append(f"hyperparameters of {method!r} must map a field to a value; got {values!r}")
        else:
            problems += _field_problems(method, get_method(method).hyperparameters, values)
    return problems


def _field_problems(method: str, dataclass: type, values: Mapping[str, Any]) -> list[str]:
    """Unknown fields and values outside the field's declared domain (the method's); a field
    without a declared domain is checked against its annotated type only."""
    hints = typing.get_type_hints(dataclass)
    declared = {f.name: f for f in fields(dataclass)}
    problems = []
    for name, value in values.items():
        if name not in declared:
            problems.append(_unknown("hyper-parameter", name, list(declared), f" of method {method!r}"))
            continue
        default = declared[name].default
        domain = hyperparameter_domain(method, name)
        if domain is not None:
            wrong = problem(name, value, domain)
        elif not _type_ok(value, hints[name]):
            wrong = f"{name}={value!r} is not allowed; {name} must be {_type_name(hints[name])}"
        else:
            wrong = None
        if wrong is not None:
            problems.append(f"{method} hyper-parameter {wrong} (default {default!r})")
    return problems


def _type_ok(value: Any, annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:  # YAML reads 1 as int and true as bool: a bool is no integer here
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True  # an annotation this check does not know: leave it to the method


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    names = {int: "an integer", float: "a number", bool: "true or false", str: "text", type(None): "None (null)"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))
