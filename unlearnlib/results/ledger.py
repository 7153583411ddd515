"""The results ledger: every result the notebooks use, as committed tidy data.

Models are a cache (``data/cache``, ignored by git); results are data. The ledger is one
tracked folder (``data/ledger``, or ``UNLEARNLIB_LEDGER_DIR``) with one CSV per kind of
result (``experiments.csv``, ``tuning.csv``, ``forgetting_quality.csv``, ``originals.csv``,
``sample_scores.csv``, ``memorization.csv``,
``relearning.csv``, ``noise_floor.csv``), rows sorted by key so that diffs read well.
Every row carries its ``key`` (a hash of its full spec), the ``profile``, the library
version, a ``code_version`` (so fixing one method invalidates only that method's rows),
the git ``commit``, the ``machine`` fingerprint and the ``finished_utc`` time.

Computing appends (atomically: a rewrite under a lock, then a rename, so a ``kill -9``
leaves the old file or the new one); rendering only reads. With ``UNLEARNLIB_LEDGER_ONLY=1``
(``make figures``) nothing is computed: a missing row raises :class:`MissingResultError`
naming it and the command that computes it.
"""
from __future__ import annotations

import csv
import fcntl
import io
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import pandas as pd

from ..paths import atomic_write_bytes, project_root
from ..provenance import PROVENANCE_COLUMNS as PROVENANCE
from ..settings import LEDGER_DIR_ENV, LEDGER_ONLY_ENV, flag, read

KINDS = ("experiments", "tuning", "forgetting_quality", "originals", "sample_scores", "memorization", "relearning", "noise_floor",
         "ulira", "offline_lira")


REPAIR_COMMAND = "python -m unlearnlib ledger repair"


class MissingResultError(RuntimeError):
    """A result the ledger lacks while computing is switched off (``make figures``)."""


class LedgerError(ValueError):
    """A ledger file that cannot be trusted as it is: malformed, or holding a key twice."""


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
            table = _read(path)
            _refuse_duplicates(path, table)
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
            old = _read(path) if path.exists() else pd.DataFrame(columns=["key"])
            _refuse_duplicates(path, old)
            kept = old[~old["key"].isin(set(new["key"]))]
            merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new.copy()
            _write(path, merged)
        self._tables.pop(kind, None)

    def drop(self, kind: str, stale) -> int:
        """Drop the rows for which ``stale(table)`` (a boolean mask over the file's rows) is true,
        atomically under the lock; returns how many were dropped."""
        path = self.path(kind)
        if not path.exists():
            return 0
        with _locked(path):
            table = _read(path)
            mask = stale(table)
            if mask.any():
                _write(path, table[~mask])
        self._tables.pop(kind, None)
        return int(mask.sum())

    def repair(self, kind: str) -> int:
        """Drop the rows of ``kind`` whose key (and sample) another row repeats, keeping the
        one finished last (as a merge of two branches that computed the same row leaves
        them); returns how many rows were dropped."""
        path = self.path(kind)
        if not path.exists():
            return 0
        with _locked(path):
            table = _read(path)
            by = _identity(table)
            newest = table.sort_values("finished_utc", kind="stable") if "finished_utc" in table else table
            kept = newest.drop_duplicates(by, keep="last")
            dropped = len(table) - len(kept)
            if dropped:
                _write(path, kept)
        self._tables.pop(kind, None)
        return dropped

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


def _identity(table: pd.DataFrame) -> list[str]:
    """The columns that identify a row: its key, and the sample for per-sample kinds."""
    return [c for c in ("key", "sample") if c in table.columns]


def _read(path: Path) -> pd.DataFrame:
    """A ledger file as a table; a malformed one is refused, naming the file and the line."""
    try:
        table = pd.read_csv(path, keep_default_na=True, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        line = _first_bad_line(path)
        where = f"line {line} does not have the header's fields" if line else str(error)
        raise LedgerError(f"the ledger file {path} is malformed: {where}; restore it from git "
                          f"(`git checkout -- {path}`) or mend that line, then rerun") from None
    if "key" not in table.columns:
        raise LedgerError(f"the ledger file {path} has no 'key' column (its header line is {list(table.columns)[:5]}...); "
                          f"restore it from git (`git checkout -- {path}`)")
    return table


def _first_bad_line(path: Path) -> int | None:
    """The line (counting from 1) where the first record whose field count differs from the
    header's starts (an unclosed quote swallows the rest of the file into one record)."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header, start = next(reader), 2
            for record in reader:
                if len(record) != len(header):
                    return start
                start = reader.line_num + 1
    except (OSError, StopIteration, UnicodeDecodeError, csv.Error):
        return None
    return None


def _refuse_duplicates(path: Path, table: pd.DataFrame) -> None:
    """Two rows with one key (as a bad merge leaves them) would be counted twice: refuse them."""
    by = _identity(table)
    repeated = table[table.duplicated(by, keep=False)]
    if not repeated.empty:
        first = repeated.iloc[0]
        where = ", ".join(f"{c} {first[c]}" for c in by)
        lines = [i + 2 for i in repeated.index[:4]]  # +1 for the header, +1 for counting from 1
        raise LedgerError(f"the ledger file {path} holds {len(repeated)} rows whose key repeats another's "
                          f"(e.g. {where}, on lines {', '.join(map(str, lines))}); keep one row per key with "
                          f"`{REPAIR_COMMAND}` (keeps the newest), then commit the file")


def _write(path: Path, table: pd.DataFrame) -> None:
    """Sorted by key, provenance columns first, written atomically."""
    table = table.sort_values(_identity(table), kind="stable").reset_index(drop=True)
    table = table[[*[c for c in PROVENANCE if c in table], *[c for c in table if c not in PROVENANCE]]]
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    atomic_write_bytes(path, buffer.getvalue().encode())


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
