"""What one computation is: a frozen spec that knows its ledger kind, label, profile and code version.

- :class:`OriginalSpec`: the original model (and the originals', per-sample and memorization rows);
- :class:`ExperimentSpec`: one cell of the grid, an unlearning method on one forget set;
- :class:`TuningSpec`: the hyper-parameter search of one method on one forget set;
- :class:`ForgettingQualitySpec`: the NeurIPS 2023 forgetting quality of one method.

A spec's ledger key is :func:`unlearnlib.provenance.config_key` of it: the JSON of its class
name and fields. Renaming a class or a field, or changing a default, re-keys its rows (and so
recomputes them); the ``kind`` of each class is a ``ClassVar``, not a field, for that reason.

Seeds: an original of seed ``s`` is initialised (and its data shuffled) with ``s``; every
retrained model draws its initialisation from a disjoint stream (:func:`retrain_seed`),
so the gold standard never shares the original's initial weights.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from ..evaluation import metrics
from ..algorithms import Hyperparameters, get_method
from ..profiles import Profile
from ..provenance import (FQ_INTERVAL_VERSION, ORIGINAL_VERSION, PIPELINE_VERSION, TUNING_VERSION,  # noqa: F401  (re-exported)
                          compute_path_tag, method_code_version)
from ..training import TrainConfig

RETRAIN_SEED_BASE = 100_000  # originals use seeds below it, retrained models seeds above
TUNING_FRACTION = 0.1  # the forget-set size (share of train) at which the study tunes every method
TUNING_SEED = 90  # the tuning runs' original and forget set: no evaluation uses this seed


def retrain_seed(seed: int, replica: int = 0) -> int:
    """The initialisation seed of retrained model ``replica`` for experiment seed ``seed``:
    disjoint from every original's seed (and from the other replicas')."""
    if not 0 <= replica < 1000:
        raise ValueError(f"replica must lie in [0, 1000); got {replica}")
    return RETRAIN_SEED_BASE + 1000 * int(seed) + replica


def _pipeline_code_version(tag: str, method: str) -> str:
    """The code that made a row: the shared pipeline's version (with the spec type's ``tag``),
    the method's code digest and the retraining code's, which every comparison depends on."""
    return f"p{PIPELINE_VERSION}{tag}-{method_code_version(method)}-{method_code_version('retrain')}{compute_path_tag()}"


def metrics_tag(experiment: "ExperimentSpec") -> str:
    """What the code version of an experiment row adds for the versioned metrics it holds:
    ``+<name><version>`` each, in declaration order; "" for the metrics of the committed rows,
    which ``PIPELINE_VERSION`` covers. See :mod:`unlearnlib.evaluation.metrics` for how a metric is added
    without re-keying or recomputing any other row."""
    return "".join(f"+{m.name}{m.version}" for m in metrics.METRICS if m.version and (m.rows is None or m.rows(experiment)))


@dataclass(frozen=True)
class OriginalSpec:
    """Everything that determines the original model."""

    kind: ClassVar[str] = "originals"

    dataset: str
    image_size: int
    split_seed: int
    max_per_split: int | None
    model: str
    recipe: TrainConfig
    seed: int
    profile: str = ""

    @classmethod
    def from_profile(cls, profile: Profile, dataset: str, seed: int) -> "OriginalSpec":
        return cls(dataset, profile.image_size_for(dataset), profile.split_seed, profile.max_per_split, profile.model,
                   profile.recipe, seed, profile.name)

    def label(self) -> str:
        return f"the original {self.dataset} seed {self.seed}"

    def code_version(self) -> str:
        """The version of the originals', per-sample and memorization rows (no method involved)."""
        return f"o{ORIGINAL_VERSION}{compute_path_tag()}"


@dataclass(frozen=True)
class ExperimentSpec:
    """One cell of the study's grid. Parameters are (name, value) pairs so the spec stays hashable."""

    kind: ClassVar[str] = "experiments"

    original: OriginalSpec
    scenario: str
    scenario_params: tuple[tuple[str, Any], ...]
    method: str
    hyperparameters: tuple[tuple[str, Any], ...] = ()  # overrides of the method's defaults

    @classmethod
    def build(cls, original: OriginalSpec, scenario: str, method: str, *, hyperparameters=None, **scenario_params) -> "ExperimentSpec":
        return cls(original, scenario, tuple(sorted(scenario_params.items())), method, tuple(sorted((hyperparameters or {}).items())))

    @property
    def seed(self) -> int:
        return self.original.seed

    @property
    def profile(self) -> str:
        return self.original.profile

    def method_hyperparameters(self) -> Hyperparameters:
        return get_method(self.method).hyperparameters(**dict(self.hyperparameters))

    def retrain_spec(self) -> "ExperimentSpec":
        return dataclasses.replace(self, method="retrain", hyperparameters=())

    def label(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.scenario_params)
        extra = f" {dict(self.hyperparameters)}" if self.hyperparameters else ""
        return f"{self.original.dataset} seed {self.seed} {self.scenario}({params}) {self.method}{extra}"

    def code_version(self) -> str:
        return _pipeline_code_version(metrics_tag(self), self.method)


class _OnAnExperiment:
    """What a spec that wraps an ``experiment`` (a method on a forget set) takes from it."""

    experiment: ExperimentSpec

    @property
    def profile(self) -> str:
        return self.experiment.profile

    def label(self) -> str:
        return f"{type(self).__name__} of {self.experiment.label()}"


@dataclass(frozen=True)
class TuningSpec(_OnAnExperiment):
    """Tune one method on one forget set under one objective."""

    kind: ClassVar[str] = "tuning"

    experiment: ExperimentSpec  # the method's run with default hyper-parameters on that forget set
    objective: str
    n_trials: int

    def code_version(self) -> str:
        # The tuning objective's version is part of it: no method digest covers tuning.py.
        return _pipeline_code_version(f"tu{TUNING_VERSION}", self.experiment.method)


def tuning_spec(profile: Profile, dataset: str, method: str, *, objective: str = "retrain", fraction: float = 0.1,
                n_trials: int | None = None) -> TuningSpec:
    """The study's tuning run of ``method``: on the tuning seed's original and forget set
    (:data:`TUNING_SEED`, which no evaluation uses), scored on the validation split."""
    original = OriginalSpec.from_profile(profile, dataset, TUNING_SEED)
    return TuningSpec(ExperimentSpec.build(original, "random", method, fraction=fraction), objective,
                      profile.tuning_trials if n_trials is None else n_trials)


@dataclass(frozen=True)
class ForgettingQualitySpec(_OnAnExperiment):
    """The NeurIPS 2023 challenge's score for one method on one forget set, from
    ``n_models`` unlearned and ``n_models`` retrained models. Retrained model ``i`` has
    initialisation seed ``retrain_seed(seed, i)``; a second, independent set of retrained
    models (``retrain_seed(seed, n_models + i)``) gives the score of a perfect method at
    this N, against which each method's score is reported (``relative_to_retrain``).
    Unlearning run ``i`` uses method seed ``1000 * seed + i``; the original is shared."""

    kind: ClassVar[str] = "forgetting_quality"

    experiment: ExperimentSpec
    n_models: int = 32
    n_boot: int = 200  # half-sample replicates of the interval (each recomputes two scores: seconds each)

    def code_version(self) -> str:
        # The interval's version is part of it: no method digest covers fq_interval.py.
        return _pipeline_code_version(f"fo{FQ_INTERVAL_VERSION}", self.experiment.method)


# Every spec type by class name, as provenance.plain writes it in a row's ``spec`` column.
SPEC_TYPES: dict[str, type] = {cls.__name__: cls for cls in (OriginalSpec, ExperimentSpec, TuningSpec, ForgettingQualitySpec, TrainConfig)}
