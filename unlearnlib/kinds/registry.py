"""The row-kind registry: each kind of result declares its key, code version, what it needs first,
how it is computed and what it costs, so that the plan, the serial runner and the Dask driver
walk one graph and never know a kind by name.

A kind (a :class:`RowKind` registered with :func:`register`) claims specs of one type
(``spec_type``; ``claims`` tells two kinds of one type apart: retrains and other experiments)
and declares:

- ``name`` (the plan's kind), ``ledger`` (the ledger table of its rows; None: a model in the
  cache, no row) and ``label`` (in words, plural);
- ``key(spec)`` and ``code_version(spec)``: the row's identity (``provenance.config_key`` and the
  spec's own ``code_version()``: keys and versions are derived where they always were);
- ``requires(spec)``: the specs its computation reads, to be computed first (the original's row,
  the retrain's row, per-sample scores, shared retrained models);
- ``compute(spec, ledger=, models=, results=)``: the library's own function, appending the row;
- ``cost(spec, cost, charged)``: in trainings of one HAM10000 original (:class:`cost.Cost`);
- ``row_time(row, cost, charged)``: (seconds a ledger row records, its cost in trainings).

Adding a kind of result is one class here (or in its own module, registered) plus its test.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import pandas as pd

from .cost import Cost
from ..results.ledger import Ledger
from .originals import memorization_rows, memorization_spec, original_summary, sample_score_rows, study_data
from ..profiles import memorization_models_for
from ..provenance import config_key
from .relearn import RelearnBudget, RelearnSpec, relearned_references, run_relearning
from ..scenarios import scenario_inputs
from .specs import ExperimentSpec, ForgettingQualitySpec, OriginalSpec, TuningSpec, retrain_seed

# ----------------------------------------------------------------------------- specs without a class elsewhere


@dataclass(frozen=True)
class SampleScoresNeed:
    """The per-sample scores of one original (``originals.difficulty_table``)."""

    kind: ClassVar[str] = "sample_scores"
    original: OriginalSpec

    def key(self) -> str:
        return config_key(self.original)

    def code_version(self) -> str:
        return self.original.code_version()

    def label(self) -> str:
        return f"per-sample scores of {self.original.dataset} seed {self.original.seed}"


@dataclass(frozen=True)
class MemorizationNeed:
    """The memorization estimate of one dataset and recipe (``originals.difficulty_table``)."""

    kind: ClassVar[str] = "memorization"
    original: OriginalSpec
    n_models: int

    def key(self) -> str:
        return config_key(memorization_spec(self.original, self.n_models))

    def code_version(self) -> str:
        return self.original.code_version()

    def label(self) -> str:
        return f"memorization of {self.original.dataset} ({self.n_models} models)"


@dataclass(frozen=True)
class RetrainedModel:
    """One retrained model of a forgetting-quality run (``experiment``: the retrain on its forget
    set; ``seed``: its initialisation seed), trained into the model cache; it adds no ledger row."""

    experiment: ExperimentSpec
    seed: int

    def label(self) -> str:
        return f"retrained model (seed {self.seed}) of {self.experiment.label()}"


@dataclass(frozen=True)
class RelearnedReferences:
    """The attacked retrained model and original of one forget set (``experiment``: the retrain on
    it) under one attack (budget, ``k_forget``), which every method's attack there reads; the model cache only, no row."""

    experiment: ExperimentSpec
    budget: RelearnBudget
    k_forget: int = 0
    OMITTED_AT_DEFAULT: ClassVar[tuple[str, ...]] = ("k_forget",)  # a retain-only task keeps its key

    def label(self) -> str:
        return f"relearned retrain and original of {self.experiment.label()}"


def preparation(experiment: ExperimentSpec) -> list:
    """What ``runner.prepare`` reads for ``experiment``: its original's row and, for a scenario
    that ranks by per-sample scores, those and the memorization estimate."""
    needs: list = [experiment.original]
    if "scores" in scenario_inputs(experiment.scenario):
        needs += [SampleScoresNeed(experiment.original), MemorizationNeed(experiment.original, memorization_models_for(experiment.profile))]
    return needs


# ----------------------------------------------------------------------------- the registry


class RowKind:
    """One kind of result; see the module docstring. Subclasses declare the class attributes."""

    name: ClassVar[str]
    ledger: ClassVar[str | None]
    spec_type: ClassVar[type]
    label: ClassVar[str]
    trains: ClassVar[bool] = True  # False: an evaluation of a model another kind trains (its rate is 0)
    settles_keys: ClassVar[bool] = False  # True: its row decides other rows' keys (tuned settings)
    audit: ClassVar[str | None] = None  # the rule (execution.ledger_audit.RULES) its rows made before issue 32's training rules follow

    def claims(self, spec) -> bool:
        return True

    def key(self, spec) -> str:
        return spec.key() if hasattr(spec, "key") else config_key(spec)

    def code_version(self, spec) -> str:
        return spec.code_version()

    def requires(self, spec) -> list:
        return []

    def compute(self, spec, *, ledger: Ledger, models, results) -> None:
        raise NotImplementedError

    def cost(self, spec, cost: Cost, charged: set) -> float:
        return 0.0

    def row_time(self, row: dict, cost: Cost, charged: set | None = None) -> tuple[float, float] | None:
        return None

    def trials(self, spec) -> int:
        return 0

    def present(self, spec, ledger: Ledger) -> bool:
        """Whether the ledger holds ``spec``'s row at the current code version (a model: never)."""
        return self.ledger is not None and ledger.rows(self.ledger, self.key(spec), self.code_version(spec)) is not None


_KINDS: dict[str, RowKind] = {}


def register(cls: type[RowKind]) -> type[RowKind]:
    """Register a kind (a class decorator); names are unique."""
    if cls.name in _KINDS:
        raise ValueError(f"row kind {cls.name!r} is registered twice")
    _KINDS[cls.name] = cls()
    return cls


def kinds(*, rows: bool = True) -> list[RowKind]:
    """The registered kinds in registration order (the order reproduce needs them); ``rows``: only
    those that write ledger rows."""
    return [k for k in _KINDS.values() if k.ledger is not None or not rows]


def kind_named(name: str) -> RowKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown row kind {name!r}; known: {', '.join(_KINDS)}") from None


def kind_of(spec) -> RowKind:
    """The kind that claims ``spec``."""
    for kind in _KINDS.values():
        if isinstance(spec, kind.spec_type) and kind.claims(spec):
            return kind
    raise TypeError(f"no row kind computes a {type(spec).__name__}; known: {', '.join(_KINDS)}")


def experiment_of(spec) -> ExperimentSpec | None:
    """The experiment a spec is (or runs on), None for one on an original only."""
    return spec if isinstance(spec, ExperimentSpec) else getattr(spec, "experiment", None)


# ----------------------------------------------------------------------------- the kinds


def _finite(pair) -> tuple[float, float] | None:
    seconds, units = float(pair[0]), float(pair[1])
    return (seconds, units) if math.isfinite(seconds) else None


@register
class Originals(RowKind):
    name, ledger, spec_type, label = "originals", "originals", OriginalSpec, "originals"
    audit = "training split"

    def compute(self, spec, *, ledger, models, results):
        original_summary(spec, data=study_data(spec), models=models, ledger=ledger)

    def cost(self, spec, cost, charged):
        return cost.training(spec.dataset, cost.n_train(spec.dataset))

    def row_time(self, r, cost, charged=None):
        return _finite((r["train_seconds"], cost.training(r["dataset"], r["n_train"])))


class _Experiments(RowKind):
    audit = "experiment"
    ledger, spec_type = "experiments", ExperimentSpec
    retrains: ClassVar[bool]

    def claims(self, spec):
        return (spec.method == "retrain") == self.retrains

    def requires(self, spec):
        return preparation(spec) + ([] if self.retrains else [spec.retrain_spec()])

    def compute(self, spec, *, ledger, models, results):
        from .runner import run_experiment

        run_experiment(spec, data=study_data(spec.original), models=models, results=results)

    def cost(self, spec, cost, charged):
        return cost.retrain(spec) if self.retrains else cost.method(spec.method, spec.original.dataset)

    def row_time(self, r, cost, charged=None):
        if (r["method"] == "retrain") != self.retrains:
            return None
        units = (cost.training(r["dataset"], cost.n_train(r["dataset"]) - r["forget_size"]) if self.retrains
                 else cost.method(r["method"], r["dataset"]))
        return _finite((r["seconds"] + r.get("eval_seconds", 0.0), units))


@register
class Retrains(_Experiments):
    name, label, retrains = "retrains", "retrains", True


@register
class Tuning(RowKind):
    name, ledger, spec_type, label, settles_keys = "tuning", "tuning", TuningSpec, "tuning runs", True
    audit = "tuning"

    def requires(self, spec):
        return preparation(spec.experiment)

    def compute(self, spec, *, ledger, models, results):
        from .tuning import run_tuning

        run_tuning(spec, data=study_data(spec.experiment.original), models=models, results=results)

    def cost(self, spec, cost, charged):
        e = spec.experiment
        return spec.n_trials * cost.method(e.method, e.original.dataset) + cost.retrain(e)

    def row_time(self, r, cost, charged=None):
        units = r["n_trials"] * cost.method(r["method"], r["dataset"]) + cost.training(r["dataset"], cost.n_train(r["dataset"]) - r["forget_size"])
        return _finite((r["tuning_seconds"] + r["retrain_seconds"], units))

    def trials(self, spec):
        return spec.n_trials


@register
class Experiments(_Experiments):
    name, label, retrains = "experiments", "experiments", False


@register
class ForgettingQuality(RowKind):
    name, ledger, spec_type, label = "forgetting_quality", "forgetting_quality", ForgettingQualitySpec, "forgetting-quality runs"
    audit = "experiment"

    def requires(self, spec):
        from .fq_run import retrained_seeds

        retrain = spec.experiment.retrain_spec()  # its 2N retrained models are shared by every method's run on the forget set
        return preparation(spec.experiment) + [RetrainedModel(retrain, seed) for seed in retrained_seeds(spec)]

    def compute(self, spec, *, ledger, models, results):
        from .fq_run import run_forgetting_quality

        run_forgetting_quality(spec, data=study_data(spec.experiment.original), models=models, results=results)

    def cost(self, spec, cost, charged):
        e = spec.experiment
        group = (e.original, e.scenario, e.scenario_params)
        shared = 0.0 if group in charged else 2 * spec.n_models * cost.retrain(e)
        charged.add(group)
        own = 0.0 if e.method == "retrain" else spec.n_models * cost.method(e.method, e.original.dataset)
        return own + shared

    def row_time(self, r, cost, charged=None):
        """The method's N runs plus the 2N retrains' recorded training time (rows written before
        ``retrain_seconds`` existed give the method's part only); with ``charged``, a forget set's
        retrains count for its first row only (the others read them from the model cache)."""
        own = r["n_models"] * cost.method(r["method"], r["dataset"]) if r["method"] != "retrain" else 0.0
        seconds = r["method_seconds"] * r["n_models"] if r["method"] != "retrain" else 0.0
        retrains = r.get("retrain_seconds")
        if retrains is not None and pd.notna(retrains):
            group = None if charged is None else (r["dataset"], r["seed"], r["scenario"], r["forget_size"])
            if group not in (charged or ()):
                seconds += retrains
                own += 2 * r["n_models"] * cost.training(r["dataset"], cost.n_train(r["dataset"]) - r["forget_size"])
            if charged is not None:
                charged.add(group)
        return _finite((seconds, own))


@register
class Memorization(RowKind):
    name, ledger, spec_type, label = "memorization", "memorization", MemorizationNeed, "memorization estimates"
    audit = "halves"

    def compute(self, spec, *, ledger, models, results):
        memorization_rows(spec.original, spec.n_models, data=lambda: study_data(spec.original), ledger=ledger)

    def cost(self, spec, cost, charged):
        return spec.n_models * cost.training(spec.original.dataset, cost.n_train(spec.original.dataset) // 2)

    def row_time(self, r, cost, charged=None):
        return _finite((r["seconds"], r["n_models"] * cost.training(r["dataset"], cost.n_train(r["dataset"]) // 2)))


@register
class SampleScores(RowKind):
    name, ledger, spec_type, label, trains = "sample_scores", "sample_scores", SampleScoresNeed, "per-sample scores", False
    audit = "training split"

    def requires(self, spec):
        return [spec.original]  # the original's row task trains the model these evaluate

    def compute(self, spec, *, ledger, models, results):
        sample_score_rows(spec.original, data=lambda: study_data(spec.original), models=models, ledger=ledger)
    # cost 0: an evaluation of the original, whose training counts under originals; its rows record no time


@register
class Relearning(RowKind):
    name, ledger, spec_type, label = "relearning", "relearning", RelearnSpec, "relearning attacks"
    audit = "relearning"

    def requires(self, spec):
        return preparation(spec.experiment) + [RelearnedReferences(spec.experiment.retrain_spec(), spec.budget, spec.k_forget)]

    def compute(self, spec, *, ledger, models, results):
        run_relearning(spec, data=study_data(spec.experiment.original), models=models, results=results)

    def cost(self, spec, cost, charged):
        e = spec.experiment
        n_retain = cost.n_train(e.original.dataset) - cost.forget_size(e)
        rerun = 0.0 if e.method in ("retrain", "original") else cost.method(e.method, e.original.dataset)  # unlearned models are not cached
        return cost.attack(e.original.dataset, n_retain, spec.budget, spec.k_forget) + rerun

    def row_time(self, r, cost, charged=None):
        return _finite((r["relearn_seconds"], r["steps"] / cost.unit))


@register
class RetrainedModels(RowKind):
    """Counted under forgetting quality in the plan (its cost), computed as tasks of their own."""

    name, ledger, spec_type, label = "retrained_models", None, RetrainedModel, "retrained models"

    def requires(self, spec):
        shared = [spec.experiment] if spec.seed == retrain_seed(spec.experiment.seed) else []  # replica 0: the retrain row's model
        return preparation(spec.experiment) + shared

    def compute(self, spec, *, ledger, models, results):
        from .runner import prepare, unlearned_model

        _, split, task = prepare(spec.experiment, study_data(spec.experiment.original), models, ledger=ledger)
        unlearned_model(spec.experiment, task, split, models, progress=False, seed=spec.seed)


@register
class RelearnedReferenceModels(RowKind):
    """Counted under relearning in the plan, computed as a task of its own."""

    name, ledger, spec_type, label = "relearned_references", None, RelearnedReferences, "relearned references"

    def requires(self, spec):
        return preparation(spec.experiment) + [spec.experiment]  # the retrain row trains the model attacked here

    def compute(self, spec, *, ledger, models, results):
        relearned_references(RelearnSpec(spec.experiment, spec.budget, spec.k_forget), data=study_data(spec.experiment.original), models=models,
                             results=results)



# Kinds registered in modules of their own, imported here so that the registry is whole whoever imports it.
from . import noise_floor  # noqa: E402,F401  (the noise-floor retrains)
from . import lira_kinds  # noqa: E402,F401  (issue 34: U-LiRA and offline LiRA register their kinds on import)
