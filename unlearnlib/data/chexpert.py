"""CheXpert chest radiographs (Irvin et al., AAAI 2019), the official release as unpacked.

Layout: ``<data_dir>/chexpert/CheXpert-v1.0-small/{train.csv,valid.csv,train/,valid/}``, or
the full-size release's ``CheXpert-v1.0/`` (the small one is used when both are there).
``Path`` in the csv starts with the release folder's name, e.g.
``CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg``.

Task (see ``chest.py`` for why): frontal views only (``Frontal/Lateral == Frontal``),
**no finding (0) vs finding (1)**. The 12 pathology columns (every observation but
``No Finding`` and ``Support Devices``, which is not a disease) decide it:
- *finding*: at least one pathology is positive (1.0);
- *no finding*: ``No Finding`` is 1.0 and no pathology is positive or uncertain;
- a blank cell means the report does not mention the observation: negative;
- an uncertain (-1.0) pathology with no positive one leaves the image **out** (the
  "U-Ignore" policy of Irvin et al.): it is neither a confirmed finding nor a clean normal,
  and a noisy label would blur what forgetting it means. So are the rare images with
  neither a positive pathology nor ``No Finding`` = 1.

``train.csv`` and ``valid.csv`` (radiologist labels, no uncertain ones) are pooled, and
re-split 70/10/20 by patient (``patientNNNNN`` from the path, the ``group``), stratified by
label; the ``source`` column says which csv a row came from. Sex and age come from the csv.
Images are squeezed to ``image_size`` square, grayscale (1 channel), and cached like HAM10000's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from ..paths import cache_dir as default_cache_dir
from .base import CorruptDatasetError, DatasetNotFoundError, ImageDataset
from .chest import CLASS_NAMES, missing_images_message, sex_from
from ..provenance import key_of
from .files import cached_images, file_stats, md5_of, missing_files, unreadable_images
from .splits import group_stratified_split

NAME = "chexpert"
FOLDER = "chexpert"
RELEASES = ("CheXpert-v1.0-small", "CheXpert-v1.0")  # preferred first
CSV_FILES = ("train.csv", "valid.csv")
OBSERVATIONS = (
    "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
    "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
    "Fracture", "Support Devices",
)
PATHOLOGIES = tuple(o for o in OBSERVATIONS if o not in ("No Finding", "Support Devices"))
COLUMNS = ("Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", *OBSERVATIONS)
SOURCE = "https://stanfordmlgroup.github.io/competitions/chexpert/"
_PATIENT = re.compile(r"(patient\d+)")
_LOADER_VERSION = 1  # bump when the task, the resizing or the split changes, to invalidate caches

HOW_TO_GET = f"""\
CheXpert cannot be redistributed: each user accepts the Stanford research use agreement
and downloads it from {SOURCE}
(or the Stanford AIMI page, https://aimi.stanford.edu/datasets/chexpert-chest-x-rays).
Unpack CheXpert-v1.0-small.zip (11 GB; or the full-size CheXpert-v1.0) as
  <data_dir>/chexpert/CheXpert-v1.0-small/train.csv, valid.csv, train/, valid/
and set UNLEARNLIB_DATA_DIR (or --data-dir) to <data_dir>."""


@dataclass(frozen=True)
class ChexpertFiles:
    release: Path  # the CheXpert-v1.0[-small] folder
    table: pd.DataFrame  # frontal rows with a label under the task's policy, plus 'label', 'patient', 'source'
    image_paths: dict[str, Path]  # csv Path -> file, for those rows
    n_rows: int  # every row of both csvs
    n_lateral: int
    n_dropped: int  # frontal rows left out as uncertain or unlabelled


def present(data_dir: Path) -> bool:
    return (data_dir / FOLDER).exists()


def task_labels(table: pd.DataFrame) -> pd.Series:
    """1 finding / 0 no finding / NaN left out, per row, under the policy in the docstring."""
    pathologies = table[list(PATHOLOGIES)]
    positive = (pathologies == 1.0).any(axis=1)
    uncertain = (pathologies == -1.0).any(axis=1)
    normal = (table["No Finding"] == 1.0) & ~positive & ~uncertain
    return pd.Series(np.where(positive, 1.0, np.where(normal, 0.0, np.nan)), index=table.index)


def _release(data_dir: Path) -> Path:
    for name in RELEASES:
        if (data_dir / FOLDER / name / CSV_FILES[0]).exists():
            return data_dir / FOLDER / name
    looked = " or ".join(str(data_dir / FOLDER / name / CSV_FILES[0]) for name in RELEASES)
    raise DatasetNotFoundError(f"CheXpert not found: looked for {looked}.\n{HOW_TO_GET}")


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise CorruptDatasetError(f"{path} is not a readable csv ({error}).\n{HOW_TO_GET}") from error
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise CorruptDatasetError(f"{path} lacks the CheXpert columns {missing}; it has {list(table.columns)}.\n{HOW_TO_GET}")
    try:
        values = table[list(OBSERVATIONS)].to_numpy(dtype=float)
    except (TypeError, ValueError) as error:
        raise CorruptDatasetError(f"{path}: observation values must be 1.0, 0.0, -1.0 or blank ({error})") from error
    bad = sorted(set(np.unique(values[~np.isnan(values)]).tolist()) - {1.0, 0.0, -1.0})
    if bad:
        raise CorruptDatasetError(f"{path}: observation values must be 1.0, 0.0, -1.0 or blank; found {bad[:5]}")
    return table


def locate(data_dir: Path) -> ChexpertFiles:
    """Read and check both csvs and find the image of every row the task keeps."""
    release = _release(data_dir)
    parts = []
    for name in CSV_FILES:
        path = release / name
        if not path.exists():
            raise DatasetNotFoundError(f"CheXpert: {path} is missing (train.csv is there).\n{HOW_TO_GET}")
        parts.append(_read_csv(path).assign(source=name))
    table = pd.concat(parts, ignore_index=True)
    n_rows = len(table)
    frontal = table["Frontal/Lateral"] == "Frontal"
    table = table[frontal].assign(label=task_labels(table[frontal]))
    kept = table[table["label"].notna()].reset_index(drop=True)
    kept["patient"] = kept["Path"].str.extract(_PATIENT)[0]
    no_patient = kept.loc[kept["patient"].isna(), "Path"]
    if len(no_patient):
        raise CorruptDatasetError(f"CheXpert: {len(no_patient)} paths name no patientNNNNN folder, e.g. {no_patient.iloc[0]!r}")
    # The csv's Path starts with the release folder's name; resolve the rest inside ours.
    image_paths = {p: release.joinpath(*PurePosixPath(p).parts[1:]) for p in kept["Path"]}
    missing = missing_files(image_paths)
    if missing:
        raise DatasetNotFoundError(
            missing_images_message("CheXpert", missing, len(image_paths), release / CSV_FILES[0], f"{release}/train, valid", SOURCE, HOW_TO_GET)
        )
    return ChexpertFiles(release, kept, image_paths, n_rows, int((~frontal).sum()), len(table) - len(kept))


def check(data_dir: Path) -> str:
    """One line for `data check`; raises as ``locate`` does, or CorruptDatasetError for unreadable images."""
    files = locate(data_dir)
    bad = unreadable_images(files.image_paths)
    if bad:
        raise CorruptDatasetError(f"CheXpert: {len(bad)} image file(s) are not readable images: {', '.join(bad[:5])}")
    counts = files.table["label"].value_counts()
    return (
        f"{len(files.table)} frontal images, {files.table['patient'].nunique()} patients "
        f"({int(counts.get(1.0, 0))} finding, {int(counts.get(0.0, 0))} no finding; {files.n_dropped} uncertain left out, "
        f"{files.n_lateral} lateral skipped) in {files.release.name}"
    )


def load(data_dir: Path, *, image_size: int = 28, split_seed: int = 0, cache_dir: Path | None = None) -> ImageDataset:
    """CheXpert frontal views at ``image_size`` px, no finding vs finding, split by patient."""
    files = locate(data_dir)
    key = key_of(_LOADER_VERSION, [md5_of(files.release / n) for n in CSV_FILES], image_size, file_stats(files.image_paths))
    cache_path = default_cache_dir(cache_dir) / f"{NAME}-{image_size}px-{key}.npz"
    images = cached_images(cache_path, files.image_paths, image_size, dataset="CheXpert", mode="L")
    raw = files.table
    labels = raw["label"].to_numpy(dtype=np.int64)
    patients = raw["patient"].to_numpy(dtype=object)
    metadata = pd.DataFrame(
        {
            "split": group_stratified_split(labels, patients, seed=split_seed),
            "label": labels,
            "sex": sex_from(raw["Sex"], {"Male": "male", "Female": "female"}),
            "age": pd.to_numeric(raw["Age"], errors="coerce").astype(float).to_numpy(),
            "group": patients,
            "image_id": raw["Path"].to_numpy(),
            "view": raw["AP/PA"].to_numpy(),
            "source": raw["source"].to_numpy(),
        }
    )
    return ImageDataset(NAME, images, labels, CLASS_NAMES, metadata)
