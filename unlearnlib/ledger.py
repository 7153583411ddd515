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
import functools
import hashlib
import io
import os
import platform
import subprocess
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from . import __version__
from .paths import atomic_write_bytes, project_root

LEDGER_DIR_ENV = "UNLEARNLIB_LEDGER_DIR"
LEDGER_ONLY_ENV = "UNLEARNLIB_LEDGER_ONLY"
KINDS = ("experiments", "tuning", "forgetting_quality", "originals", "sample_scores", "memorization")
PROVENANCE = ("key", "profile", "code_version", "unlearnlib_version", "commit", "machine", "fingerprint", "finished_utc")


class MissingResultError(RuntimeError):
    """A result the ledger lacks while computing is switched off (``make figures``)."""


def ledger_dir() -> Path:
    configured = os.environ.get(LEDGER_DIR_ENV)
    return Path(configured).expanduser() if configured else project_root() / "data" / "ledger"


def ledger_only() -> bool:
    return os.environ.get(LEDGER_ONLY_ENV, "") not in ("", "0")


# ----------------------------------------------------------------------------- provenance


@functools.lru_cache(maxsize=1)
def _processor() -> tuple[str, str]:
    """The processor model and the SIMD instruction sets that change float results."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "model name":
                model = value.strip()
            elif name.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    simd = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile") if f in flags]
    return model, "+".join(simd) or platform.machine()


def machine_fingerprint() -> dict[str, str]:
    """What decides bitwise identity of a result: processor, instruction set, threads,
    torch version and device. Same fingerprint, same code, same spec: same numbers."""
    import torch

    from .paths import device

    model, simd = _processor()
    described = f"{model} [{simd}], {torch.get_num_threads()} threads, torch {torch.__version__}, {device()}"
    return {"machine": described, "fingerprint": hashlib.sha256(described.encode()).hexdigest()[:12]}


def _read_commit() -> str:
    """HEAD, marked when the library's code differs from it (outputs excluded)."""
    try:
        root = project_root()
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "unlearnlib"], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# Read once, when the library is imported: a long run keeps the commit of the code it loaded,
# even when the checkout moves on while it runs.
_COMMIT = _read_commit()


def git_commit() -> str:
    return _COMMIT


def stamp(key: str, profile: str, code_version: str) -> dict[str, str]:
    """The provenance columns of a row finished now."""
    return {"key": key, "profile": profile, "code_version": code_version, "unlearnlib_version": __version__,
            "commit": git_commit(), **machine_fingerprint(),
            "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}


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


# ----------------------------------------------------------------------------- code versions


def _source_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def _local_imports(path: Path) -> list[Path]:
    """The module and, transitively, the sibling modules it imports (``from .x import``)."""
    seen, todo = [], [path]
    while todo:
        current = todo.pop()
        if current in seen or not current.exists():
            continue
        seen.append(current)
        for line in current.read_text().splitlines():
            words = line.split()
            if len(words) > 1 and words[0] == "from" and words[1].startswith(".") and not words[1].startswith(".."):
                name = words[1].lstrip(".")
                todo += [current.parent / f"{name}.py"] if name else [current.parent / f"{w.strip(',()')}.py" for w in words[3:]]
    return seen


@functools.lru_cache(maxsize=None)
def method_code_version(method: str) -> str:
    """A digest of the method's module and the algorithm modules it uses: changing a
    method's code invalidates its rows only (and changing shared pieces, all of theirs)."""
    from .algorithms import get_method

    module = Path(__import__(get_method(method).run.__module__, fromlist=["_"]).__file__)
    return _source_digest(_local_imports(module))
