"""Every setting the library reads from the environment, named in one place.

The command line and ``make`` set these for the processes they start (papermill's
kernels, Dask workers), so a setting reaches every part of a run.
"""
from __future__ import annotations

import os

DATA_DIR_ENV = "UNLEARNLIB_DATA_DIR"  # where the datasets are (read-only is fine)
CACHE_DIR_ENV = "UNLEARNLIB_CACHE_DIR"  # the model and image cache (writable)
DEVICE_ENV = "UNLEARNLIB_DEVICE"  # cpu, cuda, cuda:1 ...
FIGURES_DIR_ENV = "UNLEARNLIB_FIGURES_DIR"  # where notebooks write figures and tables
LEDGER_DIR_ENV = "UNLEARNLIB_LEDGER_DIR"  # the results ledger
LEDGER_ONLY_ENV = "UNLEARNLIB_LEDGER_ONLY"  # 1: compute nothing, read results only (make figures)
COMPUTE_PATH_ENV = "UNLEARNLIB_COMPUTE_PATH"  # eager-fp32 (default), auto, or a path label such as channels_last+bf16

ALL = (DATA_DIR_ENV, CACHE_DIR_ENV, DEVICE_ENV, FIGURES_DIR_ENV, LEDGER_DIR_ENV, LEDGER_ONLY_ENV, COMPUTE_PATH_ENV)


def read(name: str) -> str | None:
    """The setting ``name`` (one of :data:`ALL`), or None when unset or empty."""
    if name not in ALL:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(ALL)}")
    return os.environ.get(name) or None


def flag(name: str) -> bool:
    """A yes/no setting: set and not ``0``."""
    return read(name) not in (None, "0")
