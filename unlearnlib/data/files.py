"""File helpers shared by the loaders: checksums and the resized-image cache."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

from ..paths import atomic_write_bytes


def md5_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def key_of(*parts: object) -> str:
    """A short, stable hash of the given parts (their repr), for cache file names."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a cache file, or None when it is absent or unreadable (then rebuild)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError):
        return None
