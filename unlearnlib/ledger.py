"""The results ledger: every result the notebooks use, as committed tidy data.

Models are a cache (``data/cache``, ignored by git); results are data. The ledger is one
tracked folder (``data/ledger``, or ``UNLEARNLIB_LEDGER_DIR``) with one CSV per kind of
result (``experiments.csv``, ``tuning.csv``, ``forgetting_quality.csv``, ``originals.csv``,
``sample_scores.csv``, ``memorization.csv``), rows sorted by key so that diffs read well.
Every row carries its ``key`` (a hash of its full spec), the ``profile``, the library
version, a ``code_version`` (so fixing one method invalidates only that method's rows),
the git ``commit``, the ``machine`` fingerprint and the ``finished_utc`` time.

Computing appends (atomically: a rewrite under a lock, then a rename, so a ``kill -9``
leaves the old file or the new one); rendering only reads. With ``UNLEARNLIB_LEDGER_ONLY=1``
(``make figures``) nothing is computed: a missing row raises :class:`MissingResultError`
naming it and the command that computes it.
"""
from __future__ import annotations

import fcntl
import io
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import pandas as pd

from .paths import atomic_write_bytes, project_root
from .provenance import PROVENANCE_COLUMNS as PROVENANCE
from .settings import LEDGER_DIR_ENV, LEDGER_ONLY_ENV, flag, read

KINDS = ("experiments", "tuning", "forgetting_quality", "originals", "sample_scores", "memorization", "relearning")


class MissingResultError(RuntimeError):
    """A result the ledger lacks while computing is switched off (``make figures``)."""


def ledger_dir() -> Path:
    configured = read(LEDGER_DIR_ENV)
    return Path(configured).expanduser() if configured else project_root() / "data" / "ledger"


def ledger_only() -> bool:
    return flag(LEDGER_ONLY_ENV)


# ----------------------------------------------------------------------------- the ledger


class Ledger:
    """Read and append rows of each kind; a key may own several rows (per-sample scores)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else ledger_dir()
        self._tables: dict[str, tuple[float, pd.DataFrame]] = {}

    def path(self, kind: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"unknown ledger kind {kind!r}; known: {', '.join(KINDS)}")
        return self.root / f"{kind}.csv"

    def table(self, kind: str) -> pd.DataFrame:
        """Every row of ``kind`` (an empty frame when there is none), read once per change."""
        path = self.path(kind)
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            return pd.DataFrame(columns=["key"])
        cached = self._tables.get(kind)
        if cached is None or cached[0] != mtime:
            table = pd.read_csv(path, keep_default_na=True, low_memory=False)
            self._tables[kind] = (mtime, table)
        return self._tables[kind][1]

    def rows(self, kind: str, key: str, code_version: str | None = None) -> pd.DataFrame | None:
        """The rows of ``key``, or None when absent or made by other code (then recompute)."""
        table = self.table(kind)
        if table.empty:
            return None
        found = table[table["key"] == key]
        if found.empty or (code_version is not None and (found["code_version"].astype(str) != code_version).any()):
            return None
        return found

    def get(self, kind: str, key: str, code_version: str | None = None) -> dict | None:
        """The one row of ``key`` as a dict (NaN cells dropped), or None."""
        found = self.rows(kind, key, code_version)
        if found is None:
            return None
        return {k: v for k, v in found.iloc[0].items() if not (isinstance(v, float) and v != v)}

    def put(self, kind: str, rows: pd.DataFrame | dict) -> None:
        """Replace the rows of the keys in ``rows`` and write the file atomically, sorted."""
        new = pd.DataFrame([rows]) if isinstance(rows, dict) else rows
        path = self.path(kind)
        with _locked(path):
            old = pd.read_csv(path, low_memory=False) if path.exists() else pd.DataFrame(columns=["key"])
            kept = old[~old["key"].isin(set(new["key"]))]
            merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new.copy()
            order = [c for c in ("key", "sample") if c in merged.columns]
            merged = merged.sort_values(order, kind="stable").reset_index(drop=True)
            merged = merged[[*[c for c in PROVENANCE if c in merged], *[c for c in merged if c not in PROVENANCE]]]
            buffer = io.StringIO()
            merged.to_csv(buffer, index=False, lineterminator="\n")
            atomic_write_bytes(path, buffer.getvalue().encode())
        self._tables.pop(kind, None)

    def fetch_or_compute(self, kind: str, key: str, code_version: str, compute: Callable[[], pd.DataFrame | dict],
                         *, describe: str) -> pd.DataFrame:
        """The rows of ``key``; computed and appended when missing, unless computing is off."""
        found = self.rows(kind, key, code_version)
        if found is not None:
            return found
        if ledger_only():
            raise MissingResultError(
                f"the ledger ({self.path(kind)}) has no current {kind} row for {describe} (key {key}, code {code_version}); "
                "compute it with `make reproduce` (or `python -m unlearnlib reproduce --profile <profile> --notebook <NN>`), "
                "then commit data/ledger"
            )
        self.put(kind, compute())
        found = self.rows(kind, key, code_version)
        assert found is not None, f"{kind} row {key} was written but cannot be read back"
        return found


@contextmanager
def _locked(path: Path):
    """An exclusive lock beside ``path``: Dask workers on one machine append one at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
