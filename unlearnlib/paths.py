"""Where the library reads data and writes caches.

Data is read from a data directory (``UNLEARNLIB_DATA_DIR``, the CLI's ``--data-dir``,
default ``./data``) that may be read-only; caches go to a separate, writable cache
directory (``UNLEARNLIB_CACHE_DIR``, default ``./data/cache``). Relative defaults are
taken from the project root (the folder holding ``pyproject.toml`` and ``notebooks/``),
so notebooks find the same folders whether run from ``notebooks/`` or from the root.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .settings import CACHE_DIR_ENV, DATA_DIR_ENV, DEVICE_ENV, FIGURES_DIR_ENV, read


def device() -> str:
    """Where models train: ``UNLEARNLIB_DEVICE`` (e.g. ``cpu``, ``cuda``, ``cuda:1``), else
    the first GPU when there is one, else the CPU. Not part of any cache key."""
    import torch

    return read(DEVICE_ENV) or ("cuda" if torch.cuda.is_available() else "cpu")


def project_root() -> Path:
    """The repository root above the working directory, else the working directory."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").exists() and (folder / "notebooks").is_dir():
            return folder
    return here


def figures_dir() -> Path:
    """Where notebooks write figures and tables: ``UNLEARNLIB_FIGURES_DIR``, else ./figures."""
    configured = read(FIGURES_DIR_ENV)
    path = Path(configured).expanduser() if configured else project_root() / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The data directory: the explicit override, else the environment, else ./data."""
    if override is not None:
        return Path(override).expanduser()
    configured = read(DATA_DIR_ENV)
    return Path(configured).expanduser() if configured else project_root() / "data"


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The writable cache directory (created on demand)."""
    if override is not None:
        path = Path(override)
    else:
        configured = read(CACHE_DIR_ENV)
        path = Path(configured) if configured else project_root() / "data" / "cache"
    path = path.expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write a file so that a crash leaves either the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def notebook_paths(names: list[str] | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order, or just the named ones."""
    folder = project_root() / "notebooks"
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return found
    chosen = []
    for name in names:
        matches = [p for p in found if p.stem == name or p.name == name or p.stem.startswith(f"{name}_")]
        if not matches:
            raise ValueError(f"no notebook {name!r} in {folder}; known: {', '.join(p.stem for p in found)}")
        chosen.extend(matches)
    return chosen
