"""The one interface every unlearning method implements, and the method registry.

A method registers its run function with ``@register(name, hyperparameters=..., summary=...,
version=...)``; its hyper-parameter dataclass declares the domain of each field
(``domains``) and the tuning search space (``search_space``) beside it. See the package
docstring (:mod:`unlearnlib.algorithms`) for how to add one."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, fields
from typing import Any, Callable, ClassVar, Mapping

from torch import nn

from ..constraints import Domain
from ..training import Tensors, TrainConfig


@dataclass(frozen=True, eq=False)
class UnlearningTask:
    """Everything a method may use: the original model and how it was made, and the data.

    ``make_model(seed)`` returns a freshly initialised model of the original's
    architecture; ``recipe`` is the original model's training recipe.
    """

    original: nn.Module
    retain: Tensors
    forget: Tensors
    val: Tensors
    recipe: TrainConfig
    make_model: Callable[[int], nn.Module]
    num_classes: int


@dataclass(frozen=True)
class Hyperparameters:
    """Base for each method's hyper-parameter dataclass.

    ``domains`` maps every field to the values it may take (a :mod:`unlearnlib.constraints`
    domain, e.g. ``constraints.EPOCHS``): a grid asking for another value is refused before any
    work starts. ``search_space`` maps a field to ``("float", low, high)``, ``("logfloat", low,
    high)``, ``("int", low, high)`` or ``("choice", [values])``, for tuning; it lies inside the
    domains.
    """

    domains: ClassVar[Mapping[str, Domain]] = {}
    search_space: ClassVar[dict[str, tuple]] = {}

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class UnlearnResult:
    model: nn.Module
    seconds: float
    method: str
    hyperparameters: Hyperparameters


@dataclass(frozen=True)
class Method:
    """A registered method. ``version``: its code version, declared beside its code and part of
    the code version of every row it made (:func:`unlearnlib.provenance.method_code_version`)."""

    name: str
    summary: str
    hyperparameters: type[Hyperparameters]
    run: Callable[..., nn.Module]
    version: str

    def domain(self, field: str) -> Domain | None:
        """The declared domain of hyper-parameter ``field`` (None: not declared)."""
        return self.hyperparameters.domains.get(field)


class UnknownMethodError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class DivergedError(RuntimeError):
    """A method's loss became NaN or infinite: its model is garbage and must not be scored.

    ``method`` names the method once ``unlearn`` knows it (the training step does not)."""

    def __init__(self, message: str, *, method: str | None = None):
        super().__init__(message)
        self.method = method

    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.method} diverged: {text}" if self.method else text


_REGISTRY: dict[str, Method] = {}


def register(name: str, *, hyperparameters: type[Hyperparameters], summary: str, version: str):
    """Register ``run(model, task, hp, *, seed, progress) -> model`` under ``name``.

    ``model`` is a private copy of the original that the method may change in place.
    ``version``: the method's code version. Change it whenever a change of the method (or of
    a shared piece it uses, ``common.py``, ``base.py``) changes its results: every row it made
    is then recomputed, and no other method's. Moving or documenting code leaves it as it is."""
    if not version or not isinstance(version, str):
        raise ValueError(f"method {name!r} needs a version (a non-empty string); got {version!r}")

    def decorate(run: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"method {name!r} is registered twice")
        _REGISTRY[name] = Method(name, summary, hyperparameters, run, version)
        return run

    return decorate


def available() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_method(name: str) -> Method:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownMethodError(f"unknown unlearning method {name!r}; known: {', '.join(available())}") from None


def hyperparameter_domain(method: str, field: str) -> Domain | None:
    """The declared domain of ``method``'s hyper-parameter ``field`` (None: not declared)."""
    return get_method(method).domain(field)


def unlearn(
    name: str,
    task: UnlearningTask,
    hyperparameters: Hyperparameters | None = None,
    *,
    seed: int,
    progress: bool = False,
) -> UnlearnResult:
    """Run one method on a copy of ``task.original`` (never changed) and time it."""
    method = get_method(name)
    hp = hyperparameters if hyperparameters is not None else method.hyperparameters()
    if not isinstance(hp, method.hyperparameters):
        raise TypeError(f"{name} takes {method.hyperparameters.__name__}, got {type(hp).__name__}")
    start = time.perf_counter()
    try:
        model = method.run(copy.deepcopy(task.original), task, hp, seed=seed, progress=progress)
    except DivergedError as error:
        if error.method is None:
            error.method = name
        raise
    return UnlearnResult(model, time.perf_counter() - start, name, hp)
