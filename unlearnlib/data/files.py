"""File helpers shared by the loaders: checksums, image reading and the resized-image cache."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ..paths import atomic_write_bytes
from .base import CorruptDatasetError


def md5_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


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


# --- images listed by a metadata table, resized and cached (every file-based loader) --------

IMAGE_MODES = {"L": 1, "RGB": 3}  # PIL mode -> channels


def read_resized(path: Path, image_size: int, mode: str = "L") -> np.ndarray:
    """One image as uint8 C x S x S in PIL ``mode`` ("L": gray, 1 channel; "RGB": 3). The whole
    image is squeezed to a square (no crop), so a finding at the edge is never cut off."""
    if mode not in IMAGE_MODES:
        raise ValueError(f"mode must be one of {list(IMAGE_MODES)}; got {mode!r}")
    with Image.open(path) as image:
        image.draft(mode, (image_size * 2, image_size * 2))  # JPEG: decode at reduced scale
        image = image.convert(mode).resize((image_size, image_size), Image.Resampling.BICUBIC)
        pixels = np.asarray(image, dtype=np.uint8)
        return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def missing_files(paths: dict[str, Path]) -> list[str]:
    """Ids whose file is absent, in the given order."""
    return [key for key, path in paths.items() if not path.is_file()]


def unreadable_images(paths: dict[str, Path], workers: int = 4) -> list[str]:
    """Ids whose file is empty or whose header is not an image (cheap: no full decode)."""
    def bad(path: Path) -> bool:
        try:
            with Image.open(path):
                return False
        except OSError:  # includes PIL.UnidentifiedImageError
            return True

    keys = list(paths)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        flags = list(pool.map(lambda key: bad(paths[key]), keys))
    return [key for key, flag in zip(keys, flags) if flag]


def file_stats(paths: dict[str, Path]) -> list[tuple[str, int, int]]:
    """(id, size, mtime) per file: part of a cache key, so a replaced file rebuilds the cache."""
    return [(key, (stat := path.stat()).st_size, stat.st_mtime_ns) for key, path in paths.items()]


def cached_images(
    cache_path: Path,
    paths: dict[str, Path],
    image_size: int,
    *,
    dataset: str,
    mode: str = "L",
    before_reading: Callable[[], object] | None = None,
) -> np.ndarray:
    """The images of ``paths`` (id -> file) resized to uint8 N x C x S x S, read once and then
    served from ``cache_path``. ``before_reading`` (e.g. a checksum pass) runs only when the
    files are read, not when the cache serves them. A file that cannot be decoded raises
    CorruptDatasetError."""
    ids = np.array(list(paths), dtype=str)
    cached = load_arrays(cache_path)
    if cached is not None and np.array_equal(cached["image_ids"], ids):
        return cached["images"]
    if before_reading is not None:
        before_reading()

    def read(key: str) -> np.ndarray:
        try:
            return read_resized(paths[key], image_size, mode)
        except OSError as error:
            raise CorruptDatasetError(f"{dataset}: cannot decode {paths[key]} ({error}); replace it with a fresh copy") from error

    with ThreadPoolExecutor(max_workers=4) as pool:
        images = list(pool.map(read, ids))
    empty = np.zeros((0, IMAGE_MODES[mode], image_size, image_size), np.uint8)
    images = np.stack(images) if images else empty
    save_arrays(cache_path, images=images, image_ids=ids)
    return images

