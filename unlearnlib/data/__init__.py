"""Datasets: one call returns images, labels, class names and per-sample metadata.

>>> from unlearnlib.data import load_dataset
>>> ds = load_dataset("ham10000", image_size=28)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..paths import cache_dir as resolve_cache_dir
from ..paths import data_dir as resolve_data_dir
from . import chexpert, ham10000, medmnist, nih_chestxray14
from .base import (
    SPLITS,
    ChecksumError,
    CorruptDatasetError,
    DatasetError,
    DatasetNotFoundError,
    ImageDataset,
    UnknownDatasetError,
)
from .synthetic import make_synthetic

__all__ = [
    "SPLITS", "ChecksumError", "CorruptDatasetError", "DatasetError", "DatasetNotFoundError", "ImageDataset",
    "UnknownDatasetError", "available", "check_datasets", "load_dataset", "make_synthetic",
]

PRIMARY = ("ham10000", "breastmnist")  # the study's datasets, always reported by `data check`
# The paper's chest X-ray datasets: optional, each a module with present / locate / check / load.
CHEST = {chexpert.NAME: chexpert, nih_chestxray14.NAME: nih_chestxray14}


def available() -> tuple[str, ...]:
    return ("ham10000", *CHEST, *medmnist.FLAGS_2D, "synthetic")


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    image_size: int = 28,
    split_seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> ImageDataset:
    """Load a dataset by name (see ``available()``) from the data directory."""
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8 px; got {image_size}")
    root = resolve_data_dir(data_dir)
    if name == "ham10000":
        return ham10000.load(root, image_size=image_size, split_seed=split_seed, cache_dir=resolve_cache_dir(cache_dir))
    if name in CHEST:
        return CHEST[name].load(root, image_size=image_size, split_seed=split_seed, cache_dir=resolve_cache_dir(cache_dir))
    if name in medmnist.FLAGS_2D:
        return medmnist.load(name, root, image_size=image_size)
    if name == "synthetic":
        return make_synthetic(image_size=image_size, seed=split_seed)
    raise UnknownDatasetError(f"unknown dataset {name!r}; known: {', '.join(available())}")


@dataclass(frozen=True)
class DataReport:
    dataset: str
    status: str  # found / missing / corrupt
    detail: str
    required: bool = True  # False: reported because its folder is there, but the default study does not need it


def _check_one(name: str, root: Path, required: bool = True) -> DataReport:
    try:
        if name == "synthetic":
            detail = "generated in memory, nothing to check"
        elif name in CHEST:
            detail = CHEST[name].check(root)
        elif name == "ham10000":
            files = ham10000.locate(root)
            verified = ham10000.verify_image_checksums(files)
            lesions = files.metadata["lesion_id"].nunique()
            detail = f"{len(files.metadata)} images, {lesions} lesions, {verified} image checksums verified"
        else:
            path = medmnist.locate(name, root)
            with np.load(path) as arrays:
                counts = {s: len(arrays[f"{s}_labels"]) for s in SPLITS}
            detail = f"{sum(counts.values())} images (train {counts['train']}, val {counts['val']}, test {counts['test']}), md5 ok"
        return DataReport(name, "found", detail, required)
    except CorruptDatasetError as error:
        return DataReport(name, "corrupt", str(error), required)
    except DatasetNotFoundError as error:
        return DataReport(name, "missing", str(error), required)


def check_datasets(data_dir: str | os.PathLike | None = None, names: list[str] | tuple[str, ...] | None = None) -> list[DataReport]:
    """Found / missing / corrupt per dataset. By default the primary datasets (required) and,
    as optional, each chest dataset whose folder exists and each other MedMNIST file present;
    ``names`` checks exactly those, all required."""
    root = resolve_data_dir(data_dir)
    if names is not None:
        unknown = [n for n in names if n not in available()]
        if unknown:
            raise UnknownDatasetError(f"unknown dataset {unknown[0]!r}; known: {', '.join(available())}")
        return [_check_one(name, root) for name in names]
    chest = [name for name, module in CHEST.items() if module.present(root)]
    extra = [f for f in medmnist.FLAGS_2D if f not in PRIMARY and (root / medmnist.FOLDER / f"{f}.npz").exists()]
    return [_check_one(name, root) for name in PRIMARY] + [_check_one(name, root, required=False) for name in (*chest, *extra)]
