"""The study's grids as the notebooks run them: tuned methods, originals, statistics.

Every approximate method is tuned once per dataset with the same budget (the profile's
``tuning_trials`` Optuna trials, the ``retrain`` objective on the validation split) on
the tuning seed's original and forget set, which no evaluation uses; every analysis then
runs the methods at those tuned settings on the evaluation seeds, so the comparison is
fair and out of sample. ``tuned=False`` runs the defaults (scaled to this data size, see
each method's docstring) for the untuned table.

The study tunes at a 10 % forget set (:data:`TUNING_FRACTION`). The size curves (notebook 03)
also tune at each forget size with the same budget (``tuning_fraction``): a setting's step
count and ascent strength depend on the forget set's size, so settings tuned at 10 % are
not fair at 1 % or 50 % (measured in notebook 03: tuned once at 10 %, SCRUB fails 10 and NegGrad+ 6
of their 21 size-curve runs; tuned at each size, 3 each). The targeted analyses are served the
settings tuned at their own size (:func:`tuning_fraction_for_size`): sex and difficulty, whose
sets hold about 350 images, use the 5 % tuning; whole lesions against single images (notebook
08) use the 10 % whole-lesion tuning for both arms. A trial whose model fails on the validation
split (``unlearnlib.evaluation.failures``) ranks below the untouched original, so tuning never prefers a
broken model to doing nothing.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..algorithms import available, get_method
from .grid import expand_grid, run_grid
from ..kinds.originals import load_study_data, original_summary
from ..profiles import Profile
from ..kinds.specs import TUNING_FRACTION, OriginalSpec, tuning_spec  # noqa: F401  (TUNING_FRACTION re-exported)
from ..kinds.tuning import run_tuning, tuned_hyperparameters
from ..kinds.cost import train_size
from ..kinds.relearn import RelearnBudget, RelearnSpec, relearn_ks

PRIMARY_ENDPOINT = "avg_gap"  # mean |metric - retrain's| over retain, forget, test accuracy and MIA-efficacy


def tunable(methods: Sequence[str] | str = "all") -> list[str]:
    names = list(available()) if methods == "all" else list(methods)
    return [m for m in names if get_method(m).hyperparameters.search_space]


def tuning_records(profile: Profile, dataset: str, methods: Sequence[str] | str = "all", *, objective: str = "retrain",
                   fraction: float = TUNING_FRACTION) -> pd.DataFrame:
    """One tuning row per tunable method (computed and appended to the ledger when missing)."""
    return pd.DataFrame([run_tuning(tuning_spec(profile, dataset, m, objective=objective, fraction=fraction)) for m in tunable(methods)])


def tuned_settings(profile: Profile, dataset: str, methods: Sequence[str] | str = "all", *,
                   fraction: float = TUNING_FRACTION) -> dict[str, dict[str, Any]]:
    """Each tunable method's tuned hyper-parameters on ``dataset`` (objective ``retrain``),
    tuned on a forget set of ``fraction`` of train."""
    records = tuning_records(profile, dataset, methods, fraction=fraction)
    return {row["method"]: tuned_hyperparameters(row) for _, row in records.iterrows()}


def tuning_fraction_for_size(profile: Profile, dataset: str, size: int) -> float:
    """The forget fraction, among the profile's size-curve fractions (each tuned in notebook 03),
    nearest to ``size`` training images (on a log scale): the targeted analyses (sex, difficulty)
    draw sets of ``size`` images and are served the settings tuned at that size, not at
    :data:`TUNING_FRACTION` (measured: NegGrad+ tuned at 350 images chose lr 0.0047, at 701
    images 0.0135, and the latter collapsed the 350-image sex runs). Refuses a size further
    than 10 % from every tuned size."""
    n_train = len(load_study_data(OriginalSpec.from_profile(profile, dataset, 0)).split("train"))
    return nearest_tuning_fraction(profile, dataset, size, n_train)


def nearest_tuning_fraction(profile: Profile, dataset: str, size: int, n_train: int) -> float:
    """:func:`tuning_fraction_for_size` for a training split of ``n_train`` images, without
    loading the data (``unlearnlib.execution.plan`` takes ``n_train`` from a table)."""
    if not 0 < size < n_train:
        raise ValueError(f"size must lie between 0 and the {n_train} training images of {dataset}; got {size}")
    share = size / n_train
    nearest = min(profile.forget_fractions, key=lambda f: abs(np.log(f / share)))
    if abs(nearest * n_train - size) > 0.1 * size:
        raise ValueError(f"no tuned forget size within 10 % of {size} images ({share:.2%} of {dataset}'s train); the profile "
                         f"tunes at {', '.join(f'{f:.0%}' for f in profile.forget_fractions)}: add {share:.3f} to its forget_fractions")
    return nearest


def run_study_grid(profile: Profile, *, datasets: Sequence[str], scenarios, methods: Sequence[str] | str = "all",
                   seeds: Sequence[int] | None = None, tuned: bool = True, tuning_fraction: float = TUNING_FRACTION,
                   progress: bool = True) -> pd.DataFrame:
    """The rows of a grid, with every tunable method at its tuned settings (``tuned``: tuned
    on a forget set of ``tuning_fraction`` of train) or at its defaults; ``retrain`` and
    ``original`` are always included."""
    tables = []
    for dataset in datasets:
        overrides = tuned_settings(profile, dataset, methods, fraction=tuning_fraction) if tuned else None
        specs = expand_grid(profile, datasets=[dataset], scenarios=scenarios, methods=methods, seeds=seeds, hyperparameters=overrides)
        tables.append(run_grid(specs, progress=progress))
    return pd.concat(tables, ignore_index=True)


def originals_table(profile: Profile, datasets: Sequence[str], seeds: Sequence[int]) -> pd.DataFrame:
    """The ledger rows of the original models (trained and measured where missing)."""
    return pd.DataFrame([original_summary(OriginalSpec.from_profile(profile, d, s)) for d in datasets for s in seeds])


def majority_rate(profile: Profile, dataset: str) -> float:
    """The test accuracy of always predicting the largest class (a collapsed model's accuracy)."""
    data = load_study_data(OriginalSpec.from_profile(profile, dataset, 0)).dataset
    labels = data.labels[data.split_indices("test")]
    return float(pd.Series(labels).value_counts(normalize=True).max())


def sex_composition(profile: Profile, dataset: str, seed: int) -> dict:
    """Why accuracy differs between the sexes before any unlearning: the test split's largest
    class (``largest_class``) and its share of each sex's test images (``largest_share``:
    {"male": ..., "female": ...}), from seed ``seed``'s split."""
    data = load_study_data(OriginalSpec.from_profile(profile, dataset, seed))
    test = data.split("test")
    labels, sex = data.dataset.labels[test], data.dataset.metadata["sex"].to_numpy()[test]
    largest = int(np.bincount(labels).argmax())
    return {"largest_class": data.dataset.class_names[largest],
            "largest_share": {s: float((labels[sex == s] == largest).mean()) for s in ("male", "female")}}


def twin_share(profile: Profile, dataset: str, seeds: Sequence[int], fraction: float) -> float:
    """The share of an image-level random forget set (``fraction`` of train) whose lesion keeps
    another image in the retain set, mean over ``seeds``: only those images can carry a twin effect."""
    from ..kinds.runner import forget_split
    from ..kinds.specs import ExperimentSpec

    data = load_study_data(OriginalSpec.from_profile(profile, dataset, seeds[0]))
    lesion = data.dataset.metadata["group"].to_numpy()
    shares = []
    for seed in seeds:
        spec = ExperimentSpec.build(OriginalSpec.from_profile(profile, dataset, seed), "random", "retrain", fraction=fraction, unit="image")
        split = forget_split(spec, data)
        shares.append(np.isin(lesion[split.forget], lesion[split.retain]).mean())
    return float(np.mean(shares))


# ----------------------------------------------------------------------------- relearning attacks on a grid


def relearn_specs(profile, *, datasets: Sequence[str], fraction: float, seeds: Sequence[int] | None = None,
                  methods: Sequence[str] | str = "all", tuning_fraction: float | None = None,
                  budget: RelearnBudget = RelearnBudget(), ks: Sequence[int] | None = (0,)) -> list[RelearnSpec]:
    """The attack, with each k of ``ks`` (None: :func:`~unlearnlib.kinds.relearn.relearn_ks`), on every experiment of a grid as
    :func:`run_study_grid` runs it: ``methods`` (retrain always among them) at the settings tuned at
    ``tuning_fraction`` (default: the study's), a whole-lesion random forget set of ``fraction``."""
    tuning_fraction = TUNING_FRACTION if tuning_fraction is None else tuning_fraction
    specs = []
    for dataset in datasets:
        experiments = expand_grid(profile, datasets=[dataset], scenarios=[("random", {"fraction": fraction})], seeds=seeds,
                                  methods=methods, hyperparameters=tuned_settings(profile, dataset, methods, fraction=tuning_fraction))
        chosen = relearn_ks(round(fraction * train_size(profile, dataset))) if ks is None else ks
        specs += [RelearnSpec(e, budget, k) for k in chosen for e in experiments]
    return specs


def main_table_specs(profile, *, datasets: Sequence[str], fraction: float, seeds: Sequence[int] | None = None,
                     budget: RelearnBudget = RelearnBudget()) -> list[RelearnSpec]:
    """The attack, with each k :func:`~unlearnlib.kinds.relearn.relearn_ks` allows, on every main-table experiment: all
    methods at their tuned settings, a whole-lesion random forget set of ``fraction``."""
    return relearn_specs(profile, datasets=datasets, fraction=fraction, seeds=seeds, budget=budget, ks=None)
