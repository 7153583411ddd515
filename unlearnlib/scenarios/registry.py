"""The scenario registry: ``@register_scenario(name, params=..., inputs=...)`` on each scenario function.

As the method registry does for algorithms: one decorated function is one scenario. ``params``
declares what a grid may pass, each with its domain (``constraints``); the defaults, and which
parameters are required, are read from the function's signature, so they are written once.
``inputs`` names what the runner supplies beyond the dataset and seed (the difficulty scenario
ranks samples by ``scores``); ``python_only`` names keywords that Python callers may pass but a
grid may not. ``dataset_check`` checks values that depend on the dataset but not on its images
(a class name) against the dataset table, so they too are refused before any data loads.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..constraints import Constraint, Domain, allowed, domain, problem
from .common import ForgetSplit

if TYPE_CHECKING:  # only for annotations: the table is read, never imported at run time here
    from ..data import DatasetInfo, ImageDataset

_RUNNER_SUPPLIED = ("dataset", "seed")  # every scenario takes these; the seed comes from the grid's seeds


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()  # the default of a parameter that must be given


@dataclass(frozen=True)
class Scenario:
    """One registered scenario: its function, declared parameters and what the runner supplies."""

    name: str
    function: Callable[..., ForgetSplit]
    params: Mapping[str, Domain]
    defaults: Mapping[str, Any]  # REQUIRED where the signature has no default
    inputs: tuple[str, ...] = ()
    python_only: tuple[str, ...] = ()
    dataset_check: Callable[["DatasetInfo", Mapping[str, Any]], list[str]] | None = field(default=None, repr=False)

    def required(self, param: str) -> bool:
        return self.defaults[param] is REQUIRED

    def problems(self, values: Mapping[str, Any]) -> list[str]:
        """Every problem with a grid's ``values`` for this scenario, as messages (none: valid)."""
        problems = []
        for key, value in values.items():
            if key not in self.params:
                hint = " (the seed comes from the grid's seeds)" if key == "seed" else ""
                problems.append(
                    f"unknown parameter {key!r} for scenario {self.name!r}{hint}; its parameters are {', '.join(self.params)}"
                )
            elif (wrong := problem(key, value, self.params[key])) is not None:
                problems.append(f"scenario {self.name!r}: {wrong}")
        problems += [
            f"scenario {self.name!r} needs the parameter {p!r} ({allowed(d)})"
            for p, d in self.params.items() if self.required(p) and p not in values
        ]
        return problems

    def dataset_problems(self, info: "DatasetInfo", values: Mapping[str, Any]) -> list[str]:
        """Problems of ``values`` on one dataset, from its table entry (no image is read)."""
        return [] if self.dataset_check is None else self.dataset_check(info, values)


_SCENARIOS: dict[str, Scenario] = {}


def register_scenario(
    name: str,
    *,
    params: Mapping[str, Constraint | type | None | tuple],
    inputs: tuple[str, ...] = (),
    python_only: tuple[str, ...] = (),
    dataset_check: Callable[["DatasetInfo", Mapping[str, Any]], list[str]] | None = None,
) -> Callable:
    """Register ``function(dataset, *, seed, **params)`` as scenario ``name``.

    Refuses, at import, a declaration that does not match the signature: every keyword but
    ``dataset``, ``seed``, ``inputs`` and ``python_only`` must be declared in ``params``.
    """

    def decorate(function: Callable[..., ForgetSplit]) -> Callable[..., ForgetSplit]:
        if name in _SCENARIOS:
            raise ValueError(f"scenario {name!r} is registered twice")
        signature = inspect.signature(function).parameters
        keywords = [k for k in signature if k not in (*_RUNNER_SUPPLIED, *inputs, *python_only)]
        if set(keywords) != set(params) or "seed" not in signature:
            raise TypeError(
                f"scenario {name!r}: params declares {sorted(params)} but {function.__name__} takes "
                f"{sorted(keywords)} (besides dataset, seed, inputs {list(inputs)} and python_only {list(python_only)})"
            )
        domains = {p: domain(*(c if isinstance(c, tuple) else (c,))) for p, c in params.items()}
        defaults = {
            p: REQUIRED if signature[p].default is inspect.Parameter.empty else signature[p].default for p in params
        }
        _SCENARIOS[name] = Scenario(name, function, domains, defaults, tuple(inputs), tuple(python_only), dataset_check)
        return function

    return decorate


def available_scenarios() -> tuple[str, ...]:
    """Registered scenario names, sorted."""
    return tuple(sorted(_SCENARIOS))


def get_scenario(name: str) -> Scenario:
    if name not in _SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; known scenarios: {', '.join(available_scenarios())}")
    return _SCENARIOS[name]


def scenario_problems(name: str, params: Mapping[str, Any]) -> list[str]:
    """Every problem with scenario ``name`` and its grid ``params``, as messages (none: valid)."""
    if name not in _SCENARIOS:
        return [f"unknown scenario {name!r}; known scenarios: {', '.join(available_scenarios())}"]
    return _SCENARIOS[name].problems(params)


def make_scenario(name: str, dataset: "ImageDataset", **kwargs) -> ForgetSplit:
    """The forget split of scenario ``name``; ``kwargs`` go to its function."""
    scenario = get_scenario(name)
    passable = (*scenario.params, *_RUNNER_SUPPLIED, *scenario.inputs, *scenario.python_only)
    unknown = sorted(set(kwargs) - set(passable))
    if unknown:  # a clear error rather than the function's TypeError
        raise ValueError(
            f"unknown parameter(s) {unknown} for scenario {name!r}; its parameters are {', '.join(scenario.params)}"
        )
    return scenario.function(dataset, **kwargs)


def scenario_inputs(name: str) -> tuple[str, ...]:
    """The inputs scenario ``name`` needs the runner to supply (e.g. ``("scores",)``)."""
    return get_scenario(name).inputs
