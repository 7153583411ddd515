"""Datasets: one call returns images, labels, class names and per-sample metadata.

Every dataset is one entry of the table ``DATASETS`` (``table.py``): its classes, channels,
whether it records sex, the files it needs, and its ``load`` / ``check`` functions.

>>> from unlearnlib.data import load_dataset
>>> ds = load_dataset("ham10000", image_size=28)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
from .table import DATASETS, DatasetInfo

__all__ = [
    "DATASETS", "SPLITS", "ChecksumError", "CorruptDatasetError", "DatasetError", "DatasetInfo", "DatasetNotFoundError",
    "ImageDataset", "UnknownDatasetError", "available", "check_datasets", "dataset_info", "load_dataset", "make_synthetic",
]


def available() -> tuple[str, ...]:
    return tuple(DATASETS)


def dataset_info(name: str) -> DatasetInfo:
    """The table entry of dataset ``name`` (see ``available()``)."""
    if name not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known: {', '.join(available())}")
    return DATASETS[name]


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    image_size: int = 28,
    split_seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> ImageDataset:
    """Load a dataset by name (see ``available()``) from the data directory."""
    info = dataset_info(name)
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8 px; got {image_size}")
    # The loaders that cache resolve (and create) the cache directory themselves.
    return info.load(resolve_data_dir(data_dir), image_size=image_size, split_seed=split_seed, cache_dir=cache_dir)


@dataclass(frozen=True)
class DataReport:
    dataset: str
    status: str  # found / missing / corrupt
    detail: str
    required: bool = True  # False: reported because its folder is there, but the default study does not need it


def _check_one(name: str, root: Path, required: bool = True) -> DataReport:
    try:
        return DataReport(name, "found", DATASETS[name].check(root), required)
    except CorruptDatasetError as error:
        return DataReport(name, "corrupt", str(error), required)
    except DatasetNotFoundError as error:
        return DataReport(name, "missing", str(error), required)


def check_datasets(data_dir: str | os.PathLike | None = None, names: list[str] | tuple[str, ...] | None = None) -> list[DataReport]:
    """Found / missing / corrupt per dataset. By default the primary datasets (required) and,
    as optional, each other dataset whose folder or file is there; ``names`` checks exactly
    those, all required."""
    root = resolve_data_dir(data_dir)
    if names is not None:
        for name in names:
            dataset_info(name)  # refuses an unknown name, listing the known ones
        return [_check_one(name, root) for name in names]
    primary = [name for name, info in DATASETS.items() if info.primary]
    optional = [name for name, info in DATASETS.items() if not info.primary and info.present is not None and info.present(root)]
    return [_check_one(name, root) for name in primary] + [_check_one(name, root, required=False) for name in optional]
