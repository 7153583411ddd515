"""Unlearning methods, one module each, registered by name.

>>> from unlearnlib.algorithms import available, unlearn
"""
# Registration happens on import; this order is the order `available()` lists.
from . import original, retrain, finetune  # noqa: F401, I001
from .base import (
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
    "Hyperparameters", "Method", "UnknownMethodError", "UnlearningTask", "UnlearnResult",
    "available", "get_method", "register", "unlearn",
]
