"""Forget sets of one sex (male-only, female-only, or a mixed control), with a matched label mix."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..constraints import Options, domain, require
from ..data import DATASETS, DatasetInfo, ImageDataset
from .common import SIZE, UNIT, ForgetSplit, draw_per_label, label_mix, matched_label_counts, shortfalls, split_train
from .groups import TrainGroups, check_drawn, group_note, matched_group_draws, train_groups
from .registry import register_scenario

SEXES = ("male", "female")
SEX = domain(Options(str, (*SEXES, "mixed")))


def _records_sex(info: DatasetInfo, values: Mapping[str, Any]) -> list[str]:
    if info.records_sex:
        return []
    with_sex = [name for name, entry in DATASETS.items() if entry.records_sex]
    return [f"scenario 'sex' needs a dataset that records patient sex; {info.name!r} does not "
            f"(datasets with sex: {', '.join(with_sex)})"]


def _sex_pools(dataset: ImageDataset) -> dict[str, np.ndarray]:
    """Training indices of male and female images; 'unknown' and missing sex are in neither."""
    if not dataset.has_sex:
        raise ValueError(
            f"dataset {dataset.name!r} records no patient sex (metadata 'sex' is missing for every image); "
            "sex scenarios need a dataset with sex metadata, such as ham10000"
        )
    train = dataset.split_indices("train")
    sex = dataset.metadata["sex"].to_numpy()[train]
    return {s: train[sex == s] for s in SEXES}


@register_scenario(
    "sex",
    params={"sex": SEX, "size": SIZE, "unit": UNIT},
    python_only=("reference_mix",),
    dataset_check=_records_sex,
)
def by_sex(
    dataset: ImageDataset,
    *,
    sex: str,
    size: int,
    seed: int,
    reference_mix: Sequence[int] | None = None,
    unit: str = "group",
) -> ForgetSplit:
    """``size`` training images of one sex ('male', 'female') or of either ('mixed', a control).

    The per-label counts are ``reference_mix`` (one count per class, summing to ``size``)
    or, by default, :func:`matched_label_counts` checked against both sexes, so male-only,
    female-only and mixed sets of one size always share one diagnosis mix. With
    ``unit="group"`` only groups whose every training image has the requested sex (male
    or female for 'mixed') are drawn, and the three sets are drawn together so that they
    keep one size and mix even where whole groups cannot meet the counts exactly.
    """
    require("sex", sex, SEX)
    require("unit", unit, UNIT)
    train = dataset.split_indices("train")
    if unit == "image":
        forget, counts = _sex_images(dataset, sex, size, seed, reference_mix)
        amount = f"{size} of {len(train)} training images"
    else:
        groups = train_groups(dataset)
        forget, counts = _sex_groups(dataset, groups, sex, size, seed, reference_mix)
        amount = group_note(groups, forget, size)
    if sex == "mixed":
        drawn = dataset.metadata["sex"].to_numpy()[forget]
        what = f"mixed-sex control ({int((drawn == 'male').sum())} male, {int((drawn == 'female').sum())} female)"
    else:
        what = f"{sex}-only"
    return split_train(train, forget, f"{what}: {amount}; labels {label_mix(dataset, counts)} (seed {seed})")


def _sex_images(
    dataset: ImageDataset, sex: str, size: int, seed: int, reference_mix: Sequence[int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Single images: the forget indices and their per-label counts."""
    pools = _sex_pools(dataset)
    pool = np.sort(np.concatenate(list(pools.values()))) if sex == "mixed" else pools[sex]
    if reference_mix is None:
        counts = matched_label_counts(dataset, size, pools)
    else:
        counts = _check_reference_mix(dataset, reference_mix, size)
        problems = shortfalls(dataset, size, counts, {"male or female" if sex == "mixed" else sex: pool})
        if problems:
            raise ValueError("; ".join(problems))
    return draw_per_label(dataset, pool, counts, seed), counts


def _sex_groups(
    dataset: ImageDataset, groups: TrainGroups, sex: str, size: int, seed: int, reference_mix: Sequence[int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Whole groups: the forget indices and their per-label counts (shared by all three sets)."""
    _sex_pools(dataset)  # refuses a dataset without sex metadata
    sex_of = dataset.metadata["sex"].to_numpy()[groups.train]
    # A group is forgotten whole, so one with an image of another or unknown sex is in no one-sex set.
    eligible = {s: groups.eligible(sex_of == s) for s in SEXES}
    eligible["mixed"] = groups.eligible(np.isin(sex_of, SEXES))
    pools = {s: groups.images(np.flatnonzero(eligible[s])) for s in eligible}
    if reference_mix is None:
        counts = matched_label_counts(dataset, size, {s: pools[s] for s in SEXES})
    else:
        counts = _check_reference_mix(dataset, reference_mix, size)
        problems = shortfalls(dataset, size, counts, {"male or female" if sex == "mixed" else sex: pools[sex]})
        if problems:
            raise ValueError("; ".join(problems))
    order = np.random.default_rng(seed).permutation(len(groups.label_counts))
    drawn, reached = matched_group_draws(groups, {s: order[eligible[s][order]] for s in eligible}, counts)
    forget = groups.images(drawn[sex])
    check_drawn(forget, len(groups.train), f"a {sex} forget set of {size}", "ask for a larger size or unit='image'")
    return forget, reached


def _check_reference_mix(dataset: ImageDataset, reference_mix: Sequence[int], size: int) -> np.ndarray:
    counts = np.asarray(reference_mix, dtype=np.int64)
    if counts.shape != (dataset.num_classes,) or (counts < 0).any() or counts.sum() != size:
        raise ValueError(
            f"reference_mix must hold {dataset.num_classes} non-negative per-label counts summing to "
            f"size={size}; got {list(reference_mix)}"
        )
    return counts


def sex_forget_sets(dataset: ImageDataset, *, size: int, seed: int, unit: str = "group") -> dict[str, ForgetSplit]:
    """Male-only, female-only and mixed forget sets of ``size`` with identical label counts."""
    require("unit", unit, UNIT)
    if unit == "group":  # by_sex draws the three together already
        return {s: by_sex(dataset, sex=s, size=size, seed=seed, unit=unit) for s in (*SEXES, "mixed")}
    counts = matched_label_counts(dataset, size, _sex_pools(dataset))
    return {s: by_sex(dataset, sex=s, size=size, seed=seed, reference_mix=counts, unit=unit) for s in (*SEXES, "mixed")}

