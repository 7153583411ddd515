"""One task of the graph (:mod:`unlearnlib.execution.distributed`): a row computed in a scratch ledger that starts
as a snapshot of the driver's, returning the rows it added; and the driver's one-writer append."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import pandas as pd

from ..compute_path import TASK_THREADS, task_threads
from ..kinds.registry import kind_of
from ..results.ledger import KINDS as LEDGER_KINDS, Ledger
from ..settings import CACHE_DIR_ENV, COMPUTE_PATH_ENV, DATA_DIR_ENV, DEVICE_ENV, LEDGER_DIR_ENV, read

# The settings a task runs under, taken from the driver: where data and models are, and what enters a row's key.
SHARED_SETTINGS = (DATA_DIR_ENV, CACHE_DIR_ENV, COMPUTE_PATH_ENV, DEVICE_ENV)


def ledger_snapshot(ledger: Ledger) -> dict[str, bytes]:
    """The ledger's files as bytes, sent to the tasks (the ledger is small)."""
    return {kind: ledger.path(kind).read_bytes() for kind in LEDGER_KINDS if ledger.path(kind).exists()}


@contextmanager
def _settings(values: dict[str, str | None]):
    """Set (or unset) environment settings for the duration of one task, then restore them."""
    before = {name: os.environ.get(name) for name in values}
    try:
        _apply(values)
        yield
    finally:
        _apply(before)


def _apply(values: dict[str, str | None]) -> None:
    """Set each environment setting to its value; None unsets it."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _identities(table: pd.DataFrame) -> set[tuple[str, str]]:
    if table.empty or "code_version" not in table:
        return set()
    return set(zip(table["key"].astype(str), table["code_version"].astype(str)))


def compute_row(spec, snapshot: dict[str, bytes], settings: dict[str, str | None], threads: int | None = None) -> dict[str, pd.DataFrame]:
    """One task: compute ``spec``'s row (or model) in a scratch ledger that starts as ``snapshot``
    and return the rows it added, by ledger kind (the row itself, and any row it needed that the
    snapshot lacked). ``settings``: the driver's environment settings (:data:`SHARED_SETTINGS`);
    ``threads``: None, the count every row is computed at (kernels sum in an order that depends on it)."""
    from ..kinds.runner import ResultStore
    from ..results.store import ModelStore

    if threads not in (None, TASK_THREADS):
        raise ValueError(f"threads {threads!r} is not allowed: every row is computed at {TASK_THREADS} (compute_path.TASK_THREADS)")
    scratch = Path(tempfile.mkdtemp(prefix="unlearnlib-task-ledger-"))
    try:
        for kind, payload in snapshot.items():
            (scratch / f"{kind}.csv").write_bytes(payload)
        with _settings({**settings, LEDGER_DIR_ENV: str(scratch)}), task_threads():
            ledger = Ledger(scratch)
            before = {kind: _identities(ledger.table(kind)) for kind in LEDGER_KINDS}
            kind_of(spec).compute(spec, ledger=ledger, models=ModelStore(), results=ResultStore(scratch))
            added = {}
            for kind in LEDGER_KINDS:
                table = ledger.table(kind)
                if table.empty:
                    continue
                new = [identity not in before[kind] for identity in zip(table["key"].astype(str), table["code_version"].astype(str))]
                if any(new):
                    added[kind] = table[new].reset_index(drop=True)
            return added
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fresh_rows(ledger: Ledger, rows: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The rows of each key ``ledger`` lacks at that code version."""
    out = {}
    for kind, table in rows.items():
        keys = [key for key, group in table.groupby("key", sort=False)
                if ledger.rows(kind, str(key), str(group["code_version"].iloc[0])) is None]
        if keys:
            out[kind] = table[table["key"].isin(keys)]
    return out


def with_rows(snapshot: dict[str, bytes], added: list[dict[str, pd.DataFrame]]) -> dict[str, bytes]:
    """``snapshot`` plus the rows of the tasks a task waited on (``added``: their results)."""
    if not any(added):
        return snapshot
    scratch = Path(tempfile.mkdtemp(prefix="unlearnlib-task-ledger-"))
    try:
        for kind, payload in snapshot.items():
            (scratch / f"{kind}.csv").write_bytes(payload)
        ledger = Ledger(scratch)
        for rows in added:
            for kind, table in fresh_rows(ledger, rows).items():
                ledger.put(kind, table)
        return ledger_snapshot(ledger)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def passed_through(value):
    return value


def run_after(task: Callable, spec, prerequisites: list, snapshot: dict[str, bytes], settings: dict, threads: int | None = None):
    """``task`` on ``snapshot`` plus the rows its ``prerequisites`` (futures, done when Dask starts it) added."""
    return task(spec, with_rows(snapshot, prerequisites), settings, threads)


def append_new(ledger: Ledger, rows: dict[str, pd.DataFrame]) -> int:
    """Append each key of ``rows`` the ledger lacks at that code version (the driver is the one
    writer); a key already there (a retried task, two tasks that made one shared row) is skipped.
    Returns how many keys were appended."""
    appended = 0
    for kind, table in fresh_rows(ledger, rows).items():
        ledger.put(kind, table)
        appended += table["key"].nunique()
    return appended


def driver_settings() -> dict[str, str | None]:
    return {name: read(name) for name in SHARED_SETTINGS}
