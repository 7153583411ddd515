"""The table of datasets, in the spirit of medmnist's ``INFO``: one entry per dataset.

An entry says what the dataset is without reading it (classes, channels, whether it records
sex, the files it needs) and how to read it: every ``load`` has one signature,
``load(data_dir, *, image_size, split_seed, cache_dir) -> ImageDataset``, and every ``check``
is ``check(data_dir) -> str`` (one line for ``data check``; it raises DatasetNotFoundError or
CorruptDatasetError). Adding a dataset is one entry here plus its loader module.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from medmnist.info import INFO

from . import chexpert, ham10000, medmnist, nih_chestxray14, synthetic
from .base import ImageDataset
from .chest import CLASS_NAMES as CHEST_CLASS_NAMES


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset: what it is (read by validation before any image loads) and how to read it."""

    name: str
    load: Callable[..., ImageDataset]  # load(data_dir, *, image_size, split_seed, cache_dir)
    check: Callable[[Path], str]
    class_names: tuple[str, ...]  # in label order, as the loaded ImageDataset has them
    channels: int
    records_sex: bool  # metadata 'sex' is filled (the sex scenarios need it)
    files: str  # what it needs under the data directory, in words
    primary: bool = False  # one of the study's datasets: `data check` always reports it
    present: Callable[[Path], bool] | None = None  # optional ones: reported by `data check` when there


def _synthetic_check(data_dir: Path) -> str:
    return "generated in memory, nothing to check"


def _medmnist_entry(flag: str) -> DatasetInfo:
    return DatasetInfo(
        name=flag,
        load=functools.partial(medmnist.load, flag),
        check=functools.partial(medmnist.check, flag),
        class_names=medmnist.class_names(flag),
        channels=int(INFO[flag]["n_channels"]),
        records_sex=False,  # MedMNIST keeps no patient metadata
        files=f"{medmnist.FOLDER}/{medmnist.file_name(flag, 28)} (or {flag}_<size>.npz)",
        primary=flag == "breastmnist",
        present=functools.partial(medmnist.present, flag),
    )


_ENTRIES = (
    DatasetInfo(
        name=ham10000.NAME,
        load=ham10000.load,
        check=ham10000.check,
        class_names=ham10000.CLASS_NAMES,
        channels=3,
        records_sex=True,
        files=f"{ham10000.NAME}/{ham10000.METADATA_FILE} and {ham10000.NAME}/<any folder>/ISIC_*.jpg",
        primary=True,
    ),
    DatasetInfo(
        name=chexpert.NAME,
        load=chexpert.load,
        check=chexpert.check,
        class_names=CHEST_CLASS_NAMES,
        channels=1,
        records_sex=True,
        files=f"{chexpert.FOLDER}/CheXpert-v1.0-small/{{train.csv,valid.csv,train/,valid/}}",
        present=chexpert.present,
    ),
    DatasetInfo(
        name=nih_chestxray14.NAME,
        load=nih_chestxray14.load,
        check=nih_chestxray14.check,
        class_names=CHEST_CLASS_NAMES,
        channels=1,
        records_sex=True,
        files=f"{nih_chestxray14.FOLDER}/Data_Entry_2017*.csv and {nih_chestxray14.FOLDER}/images/*.png",
        present=nih_chestxray14.present,
    ),
    *(_medmnist_entry(flag) for flag in medmnist.FLAGS_2D),
    DatasetInfo(
        name="synthetic",
        load=synthetic.load,
        check=_synthetic_check,
        class_names=synthetic.class_names(synthetic.NUM_CLASSES),
        channels=1,
        records_sex=True,
        files="nothing (generated in memory)",
    ),
)

DATASETS: dict[str, DatasetInfo] = {entry.name: entry for entry in _ENTRIES}
