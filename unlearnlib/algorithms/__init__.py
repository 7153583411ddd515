"""Unlearning methods, one module each, registered by name.

>>> from unlearnlib.algorithms import available, unlearn

**Adding a method is one module plus its test.** The module ``unlearnlib/algorithms/<name>.py``
holds everything the study needs to know about the method:

- its hyper-parameters: a frozen dataclass of :class:`Hyperparameters` with the defaults, the
  ``domains`` of every field (from :mod:`unlearnlib.constraints`: a grid asking for a value
  outside them is refused before any work starts) and the tuning ``search_space``;
- its run function, registered with ``@register("<name>", hyperparameters=..., summary=...,
  version="1")``. The ``version`` is part of the code version of every ledger row the method
  makes: change it when a change of the method changes its results, and only its rows are
  recomputed. Edits that change no result (a comment, a moved domain) leave it as it is, so
  the layout of the code no longer decides what is recomputed. The methods declared before
  versions were declared start at the digest of their source that versioned them until then,
  so their committed rows keep their code versions.

The package finds the module itself: every module here except the shared pieces (``base``,
``common``) is a method module and is imported on import of the package (in :data:`ORDER`, then
any other by name). ``tests/test_algorithms.py`` runs every registered method and checks that
each method module registers the method of its name, with a version and a domain for each
hyper-parameter; the new method's own test checks what it promises (see the other methods').
Outside the module, the report wants two sentences and a reference for it in
``html_references.METHODS`` (``tests/test_report_standalone.py`` fails without them: written when
a method's source digest keyed its rows, they could now move into the module); its style in the
figures is ``plots.METHOD_STYLES`` (without one it is drawn in grey).
"""
from __future__ import annotations

import importlib
import pkgutil

from .base import (
    DivergedError,
    Hyperparameters,
    Method,
    UnknownMethodError,
    UnlearningTask,
    UnlearnResult,
    available,
    get_method,
    hyperparameter_domain,
    register,
    unlearn,
)

# The order `available()` lists the methods in (tables, figures, the report): the study's.
ORDER = ("original", "retrain", "finetune", "gradient_ascent", "neggrad_plus", "random_label", "l1_sparse", "salun", "scrub",
         "bad_teacher", "ssd", "fisher", "boundary_shrink")
SHARED_MODULES = ("base", "common")  # pieces the methods share, not methods


def method_modules(path=None) -> tuple[str, ...]:
    """The method modules of this package (or of the folders ``path``): :data:`ORDER` first,
    then any other by name."""
    found = sorted(m.name for m in pkgutil.iter_modules(__path__ if path is None else path) if m.name not in SHARED_MODULES)
    return tuple(n for n in ORDER if n in found) + tuple(n for n in found if n not in ORDER)


for _module in method_modules():  # registration happens on import
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "DivergedError", "Hyperparameters", "Method", "ORDER", "UnknownMethodError", "UnlearningTask", "UnlearnResult",
    "available", "get_method", "hyperparameter_domain", "method_modules", "register", "unlearn",
]
