"""Cost in trainings of one HAM10000 original of a profile (= 1), computing nothing and loading no data.

A model trained on ``n`` images costs its optimizer steps over the original's (so BreastMNIST,
or a retain set, scales with its training-set size, floors on steps included); an approximate
method's run costs :data:`METHOD_RUN_FRACTION` of an original (declared, not measured). What
each kind of row costs is declared by the kind (:mod:`unlearnlib.kinds.registry`), from these pieces.
"""
from __future__ import annotations

from ..profiles import Profile
from .relearn import RelearnBudget
from .specs import TUNING_FRACTION, ExperimentSpec

# Training-split sizes (images) by dataset and split seed, so that a plan loads no data: HAM10000's
# lesion-level 70 % split (seed 0), BreastMNIST's official split (fixed: any seed). A test checks
# them against the metadata. The profile's max_per_split caps them.
TRAIN_SPLIT_SIZES: dict[str, dict[int | None, int]] = {"ham10000": {0: 7009}, "breastmnist": {None: 546}}
# An approximate method's run, in originals (declared): the cpu ledger at commit fa0ed8a measured
# 0.035 (SSD) to 0.2 (Fisher) of a 30-epoch HAM10000 original per method run; ``original`` trains nothing.
METHOD_RUN_FRACTION = 0.1
METHOD_RUN_FRACTIONS = {"original": 0.0, "retrain": None}  # retrain: its retain set's share, not a fraction


def train_size(profile: Profile, dataset: str) -> int:
    """The training split's size under ``profile`` (capped at max_per_split), from :data:`TRAIN_SPLIT_SIZES`."""
    sizes = TRAIN_SPLIT_SIZES.get(dataset, {})
    n = sizes.get(None, sizes.get(profile.split_seed))
    if n is None:
        known = ", ".join(f"{d} (split seeds {', '.join('any' if s is None else str(s) for s in by)})" for d, by in TRAIN_SPLIT_SIZES.items())
        raise ValueError(f"no training-split size for dataset {dataset!r} at split seed {profile.split_seed} in "
                         f"unlearnlib.execution.plan.TRAIN_SPLIT_SIZES; known: {known}. Add it there")
    return min(n, profile.max_per_split) if profile.max_per_split is not None else n


class Cost:
    """Cost in trainings of one HAM10000 original of ``profile`` (see the module docstring)."""

    def __init__(self, profile: Profile):
        self.profile = profile
        self.unit = self.steps(train_size(profile, "ham10000"))

    def n_train(self, dataset: str) -> int:
        return train_size(self.profile, dataset)

    def steps(self, n: int) -> int:
        recipe = self.profile.recipe
        return recipe.epochs_for(n) * recipe.steps_per_epoch(n)

    def training(self, dataset: str, n: int) -> float:
        return self.steps(max(int(n), 1)) / self.unit

    def forget_size(self, experiment: ExperimentSpec) -> int:
        params, n = dict(experiment.scenario_params), train_size(self.profile, experiment.original.dataset)
        if "size" in params:
            return int(params["size"])
        return round(float(params.get("fraction", TUNING_FRACTION)) * n)

    def retrain(self, experiment: ExperimentSpec) -> float:
        dataset = experiment.original.dataset
        return self.training(dataset, train_size(self.profile, dataset) - self.forget_size(experiment))

    def method(self, method: str, dataset: str) -> float:
        fraction = METHOD_RUN_FRACTIONS.get(method, METHOD_RUN_FRACTION)
        return (fraction or 0.0) * self.training(dataset, train_size(self.profile, dataset))

    def attack(self, dataset: str, n_retain: int, budget: RelearnBudget, k_forget: int = 0) -> float:
        return budget.steps(budget.subset_size(n_retain) + k_forget) / self.unit

    def of(self, spec, charged: set) -> float:
        """The cost of computing ``spec``'s row, as its kind declares it; ``charged``: forget sets
        whose shared retrains are counted already."""
        from .registry import kind_of

        return kind_of(spec).cost(spec, self, charged)
