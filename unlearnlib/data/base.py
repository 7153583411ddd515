"""The in-memory dataset every loader returns, and the errors loaders raise."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")
SEX_VALUES = ("male", "female", "unknown")
METADATA_COLUMNS = ("split", "label", "sex", "age", "group")


class DatasetError(RuntimeError):
    """Base class for data problems the user has to fix."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The dataset's files are not where the library looked."""


class CorruptDatasetError(DatasetError):
    """The dataset's files are there but unusable: unreadable, malformed or altered."""


class ChecksumError(CorruptDatasetError):
    """A file's content does not match its published checksum."""


class UnknownDatasetError(DatasetError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """Images, labels and per-sample metadata of one dataset, all splits together.

    ``images`` is uint8 N x C x H x W; ``labels`` int64 N; ``metadata`` has one row per
    sample (same order) with at least the columns in ``METADATA_COLUMNS``: ``split``
    (train / val / test), ``label``, ``sex`` (male / female / unknown, or missing where
    the dataset records none), ``age`` (years, NaN if unknown) and ``group`` (the
    patient or lesion id, for patient-level forgetting).
    """

    name: str
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    metadata: pd.DataFrame

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.images.ndim != 4 or self.images.dtype != np.uint8 or len(self.images) != n:
            raise ValueError(
                f"images must be uint8 N x C x H x W with N={n}; got {self.images.dtype} "
                f"{self.images.shape}"
            )
        missing = [c for c in METADATA_COLUMNS if c not in self.metadata.columns]
        if missing or len(self.metadata) != n:
            raise ValueError(f"metadata needs {n} rows and columns {METADATA_COLUMNS}; missing {missing}")
        if self.labels.min(initial=0) < 0 or self.labels.max(initial=0) >= len(self.class_names):
            raise ValueError(f"labels must lie in [0, {len(self.class_names)})")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def in_chans(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def has_sex(self) -> bool:
        return bool(self.metadata["sex"].notna().any())

    def split_indices(self, split: str) -> np.ndarray:
        """Row indices of one split, in dataset order."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        return np.flatnonzero(self.metadata["split"].to_numpy() == split)

    def limit(self, max_per_split: int, *, seed: int) -> "ImageDataset":
        """A copy with at most ``max_per_split`` random images per split (whole dataset order kept)."""
        if max_per_split < 1:
            raise ValueError(f"max_per_split must be at least 1; got {max_per_split}")
        rng = np.random.default_rng(seed)
        keep = []
        for split in SPLITS:
            indices = self.split_indices(split)
            keep.append(rng.choice(indices, size=min(max_per_split, len(indices)), replace=False))
        keep = np.sort(np.concatenate(keep))
        return ImageDataset(self.name, self.images[keep], self.labels[keep], self.class_names, self.metadata.iloc[keep].reset_index(drop=True))

    def subset_counts(self) -> pd.DataFrame:
        """Samples per split and class: a quick look at the split."""
        table = pd.crosstab(self.metadata["label"].map(dict(enumerate(self.class_names))), self.metadata["split"])
        return table.reindex(columns=[s for s in SPLITS if s in table.columns])
