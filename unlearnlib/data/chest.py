"""What the two chest X-ray loaders (CheXpert, NIH ChestX-ray14) share: the task and the messages.

The task is binary, **no finding (0) vs finding (1)**, on frontal radiographs, for both
datasets (and for ChestMNIST, which is derived from NIH ChestX-ray14). Why this one:
- it is defined on every image by both releases (CheXpert's ``No Finding`` column, NIH's
  ``No Finding`` entry), so results on the two datasets compare;
- it is the task of the sex-bias audits of chest X-ray classifiers (Seyyed-Kalantari et al.,
  Nature Medicine 27, 2176, 2021: "underdiagnosis" is a false *no finding*), which is the
  question of this study's sex scenarios;
- both classes are common, so forget sets with a matched label mix exist; a single
  pathology would need a choice of disease that neither secondary account of the paper states.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CLASS_NAMES = ("no finding", "finding")


def sex_from(values: pd.Series, mapping: dict[str, str]) -> np.ndarray:
    """The metadata's sex column: 'male' / 'female', anything else 'unknown'."""
    return values.map(mapping).fillna("unknown").to_numpy(dtype=object)


def missing_images_message(
    dataset: str, missing: list[str], total: int, listed_in: Path, looked_in: str, url: str, how_to_get: str
) -> str:
    """First line: how many and where to get them (what `data check` prints); then which and the steps."""
    shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
    return (
        f"{dataset}: {len(missing)} of {total} images listed in {listed_in.name} are missing; get them from {url}\n"
        f"looked in {looked_in}; missing: {shown}\n{how_to_get}"
    )
