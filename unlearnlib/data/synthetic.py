"""Small synthetic image data with sex and patient metadata, for fast unit tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .base import ImageDataset
from .splits import group_stratified_split

NUM_CLASSES = 3  # the default; the dataset table lists these classes


def class_names(num_classes: int) -> tuple[str, ...]:
    return tuple(f"class{c}" for c in range(num_classes))


def make_synthetic(
    *,
    n_samples: int = 600,
    num_classes: int = NUM_CLASSES,
    image_size: int = 12,
    in_chans: int = 1,
    images_per_group: int = 2,
    noise: float = 40.0,
    seed: int = 0,
) -> ImageDataset:
    """Each class is a fixed random pattern plus noise; every group (patient) has one
    class, one sex and ``images_per_group`` images; split by group like the real data."""
    if n_samples < 10 * images_per_group:
        raise ValueError(f"n_samples={n_samples} is too small: need at least {10 * images_per_group}")
    rng = np.random.default_rng(seed)
    n_groups = -(-n_samples // images_per_group)
    group_class = rng.integers(0, num_classes, n_groups)
    group_sex = rng.choice(np.array(["male", "female"], dtype=object), n_groups)
    group_age = rng.integers(20, 90, n_groups).astype(float)
    group = np.repeat(np.arange(n_groups), images_per_group)[:n_samples]
    labels = group_class[group].astype(np.int64)
    patterns = rng.uniform(40, 215, (num_classes, in_chans, image_size, image_size))
    pixels = patterns[labels] + rng.normal(0, noise, (n_samples, in_chans, image_size, image_size))
    images = np.clip(pixels, 0, 255).astype(np.uint8)
    group_names = np.array([f"patient-{g:04d}" for g in group], dtype=object)
    metadata = pd.DataFrame(
        {
            "split": group_stratified_split(labels, group_names, seed=seed),
            "label": labels,
            "sex": group_sex[group],
            "age": group_age[group],
            "group": group_names,
        }
    )
    return ImageDataset("synthetic", images, labels, class_names(num_classes), metadata)


def load(data_dir: Path, *, image_size: int = 28, split_seed: int = 0, cache_dir: Path | None = None) -> ImageDataset:
    """The dataset table's loader: synthetic data at ``image_size`` px, seeded by ``split_seed``
    (nothing is read from ``data_dir`` or cached)."""
    return make_synthetic(image_size=image_size, seed=split_seed)
