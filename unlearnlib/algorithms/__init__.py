"""Unlearning methods, one module each, registered by name.

>>> from unlearnlib.algorithms import available, unlearn
"""
# Registration happens on import; this order is the order `available()` lists.
from . import (  # noqa: F401, I001
    original, retrain, finetune, gradient_ascent, neggrad_plus, random_label, l1_sparse, salun, scrub,
    bad_teacher, ssd, fisher, boundary_shrink,
)
from .base import (
    DivergedError,
    Hyperparameters,
    Method,
    UnknownMethodError,
    UnlearningTask,
    UnlearnResult,
    available,
    get_method,
    register,
    unlearn,
)

__all__ = [
    "DivergedError", "Hyperparameters", "Method", "UnknownMethodError", "UnlearningTask", "UnlearnResult",
    "available", "get_method", "register", "unlearn",
]
