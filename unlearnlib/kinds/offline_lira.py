"""Offline per-example LiRA on the memorization estimate's reference models (issue 34, HAM10000).

Carlini et al.'s offline LiRA (IEEE S&P 2022, Section VI.C; tensorflow/privacy
``research/mi_lira_2021``) needs only reference models that did *not* train on an example: it
fits that example's "out" Gaussian of the logit-scaled confidence and asks how far above it the
attacked model's confidence lies (one-sided; :func:`unlearnlib.evaluation.lira.likelihood_ratio` with
``online=False``). No shadow unlearning is needed, so it costs no more than its references.

References (:class:`ReferenceSet`): the memorization estimate's models (Feldman & Zhang;
:mod:`unlearnlib.evaluation.memorization`): ``n_models`` (16 under the cpu profile) on complementary
random halves of the training split, so every training image is out of 8 of them, with that
estimate's membership, seeds and recipe. That estimate keeps no model, so they are trained again
here (the same seeds: on the machine that made the estimate, the same models) and cached, with
their confidences on the training and test splits stored once as a model-cache side file.

The attack on one unlearned model (:class:`OfflineLiraSpec`, one row per method and seed): its
forget images (label 1), each against its own out-Gaussian from the 8 references that left it
out, against the test split's images (label 0, never seen by any model), each against its
out-Gaussian from all 16. The references train on half the data, the attacked models on all of
it: a model that generalizes better is more confident on every image, forget and test alike, so
the shift moves both labels and the ranking between them (AUC, TPR at low FPR) is what is read.
``retrain`` (its forget images never seen: at chance) and ``original`` (seen: far above) calibrate.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..evaluation import lira
from ..algorithms import DivergedError
from ..evaluation.memorization import balanced_membership, model_seed
from .originals import StudyData, memorization_spec, model_factory, study_data
from ..profiles import memorization_models_for
from ..provenance import OFFLINE_LIRA_VERSION, config_key, method_code_version, plain
from .runner import ResultStore, prepare, unlearned_model
from .specs import ExperimentSpec, OriginalSpec
from ..results.store import ModelStore
from ..training import fit
from .ulira import _confidence, cached_arrays

LEDGER_KIND = "offline_lira"


@dataclass(frozen=True)
class ReferenceSet:
    """The memorization estimate's ``n_models`` models of ``original``'s dataset and recipe (its
    seed is the estimate's: 0, as :func:`originals.memorization_spec` sets it)."""

    original: OriginalSpec
    n_models: int = 16

    def __post_init__(self) -> None:
        if self.original.seed != 0:  # memorization_spec's seed: other seeds would be other halves, not that estimate's models
            raise ValueError(f"the references are the memorization estimate's models, of seed 0; got seed {self.original.seed}")

    @property
    def profile(self) -> str:
        return self.original.profile

    def memorization(self) -> dict:
        return memorization_spec(self.original, self.n_models)

    def key(self) -> str:
        return config_key({"lira_references": self.memorization()})

    def code_version(self) -> str:
        return f"{self.original.code_version()}+ol{OFFLINE_LIRA_VERSION}"

    def label(self) -> str:
        return f"offline-LiRA references of {self.original.dataset} ({self.n_models} half-data models)"


def reference_set(profile, dataset: str) -> ReferenceSet:
    """The profile's memorization estimate's models on ``dataset`` as references."""
    return ReferenceSet(OriginalSpec.from_profile(profile, dataset, 0), memorization_models_for(profile.name))


@dataclass(frozen=True)
class ReferenceModel:
    """Reference model ``k`` of ``references`` (a model-cache entry, no ledger row)."""

    references: ReferenceSet
    k: int

    def label(self) -> str:
        return f"offline-LiRA reference {self.k} of {self.references.original.dataset}"


@dataclass(frozen=True)
class OfflineLiraSpec:
    """The offline attack on ``experiment`` (a main-table run: method, settings, seed)."""

    kind: ClassVar[str] = LEDGER_KIND

    references: ReferenceSet
    experiment: ExperimentSpec
    fixed_variance: bool = False

    def __post_init__(self) -> None:
        if self.experiment.original.dataset != self.references.original.dataset:
            raise ValueError(f"{self.experiment.label()} is not on the references' dataset {self.references.original.dataset}")

    @property
    def profile(self) -> str:
        return self.experiment.profile

    def code_version(self) -> str:
        e = self.experiment.method
        return f"{self.references.code_version()}-{method_code_version(e)}-{method_code_version('retrain')}"

    def label(self) -> str:
        return f"offline LiRA on {self.experiment.label()}"


def _design(references: ReferenceSet, n_train: int) -> tuple[np.ndarray, tuple[int, ...]]:
    seed = references.original.seed
    return balanced_membership(n_train, references.n_models, seed=seed), tuple(model_seed(seed, k) for k in range(references.n_models))


def reference_model(spec: ReferenceModel, *, data: StudyData | None = None, store: ModelStore | None = None):
    """Reference ``k`` trained as :func:`memorization.memorization_scores` trains it (cached); (model, seconds)."""
    refs, store = spec.references, store or ModelStore()
    data = data or study_data(refs.original)
    train = data.split("train")
    membership, seeds = _design(refs, len(train))
    model = model_factory(refs.original, data.dataset)(seeds[spec.k])
    config = {"references": refs.memorization(), "k": spec.k}
    cached = store.load("lira_reference", config, model)
    if cached is not None:
        return model, float(cached["seconds"])
    history = fit(model, data.tensors.subset(train[membership[spec.k]]), refs.original.recipe, seed=seeds[spec.k], progress=False)
    store.save("lira_reference", config, model, seconds=history.seconds)
    return model, history.seconds


def reference_scores(references: ReferenceSet, *, data: StudyData | None = None, store: ModelStore | None = None) -> dict[str, np.ndarray]:
    """Per reference model: the logit-scaled confidence on every training image (``train``, with
    ``membership``) and test image (``test``), and the references' training ``seconds``."""
    store = store or ModelStore()
    data = data or study_data(references.original)

    def compute() -> dict[str, np.ndarray]:
        train, test = data.split("train"), data.split("test")
        on_train, on_test, seconds = [], [], 0.0
        for k in range(references.n_models):
            model, took = reference_model(ReferenceModel(references, k), data=data, store=store)
            on_train.append(_confidence(model, data, train))
            on_test.append(_confidence(model, data, test))
            seconds += took
        return {"train": np.stack(on_train), "test": np.stack(on_test), "membership": _design(references, len(train))[0],
                "seconds": np.float64(seconds)}

    return cached_arrays(store, "offline", references, compute)


def offline_scores(references: dict[str, np.ndarray], forget_positions: np.ndarray, forget_phi: np.ndarray, test_phi: np.ndarray,
                   *, fixed_variance: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(scores, labels): the forget images' z-scores against their out-Gaussians (label 1), then
    the test images' (label 0). ``forget_positions``: the forget images' places in the training split."""
    out_forget = lira.per_example_gaussians(references["train"][:, forget_positions], references["membership"][:, forget_positions],
                                            fixed_variance=fixed_variance, need_in=False)
    test = references["test"]
    out_test = lira.per_example_gaussians(test, np.zeros(test.shape, dtype=bool), fixed_variance=fixed_variance, need_in=False)
    scores = np.r_[lira.likelihood_ratio(forget_phi, out_forget, online=False), lira.likelihood_ratio(test_phi, out_test, online=False)]
    return scores, np.r_[np.ones(len(forget_phi)), np.zeros(len(test_phi))]


def run_offline_lira(spec: OfflineLiraSpec, *, data: StudyData | None = None, models: ModelStore | None = None,
                     results: ResultStore | None = None) -> dict:
    """The offline-LiRA row of one method and seed (computed and appended when missing)."""
    results = results or ResultStore()

    def compute() -> dict:
        models_ = models or ModelStore()
        experiment = spec.experiment
        data_, split, task = prepare(experiment, data, models_, ledger=results.ledger)
        refs = reference_scores(spec.references, data=data_, store=models_)
        train, test = data_.split("train"), data_.split("test")
        positions = np.searchsorted(train, split.forget)
        status, metrics, started = "ok", {}, time.perf_counter()
        try:
            model, seconds = unlearned_model(experiment, task, split, models_, False)
            scores, labels = offline_scores(refs, positions, _confidence(model, data_, split.forget), _confidence(model, data_, test),
                                            fixed_variance=spec.fixed_variance)
            metrics = {**lira.attack_summary(scores, labels), "tpr_curve": json.dumps(np.round(lira.tpr_curve(scores, labels), 6).tolist())}
        except DivergedError as error:
            status, seconds = f"diverged: {error}", time.perf_counter() - started
        return {
            "dataset": experiment.original.dataset, "seed": experiment.seed, "scenario": experiment.scenario,
            **{f"scenario_{k}": v for k, v in experiment.scenario_params}, "method": experiment.method,
            "hyperparameters": json.dumps(plain(experiment.method_hyperparameters().as_dict()), sort_keys=True),
            "status": status, "forget_size": len(split.forget), "n_test": len(test), "n_references": spec.references.n_models,
            "min_out": int((~refs["membership"][:, positions]).sum(axis=0).min()), "fixed_variance": spec.fixed_variance,
            **{k: metrics.get(k, float("nan")) for k in ("auc", "tpr_at_1pct", "tpr_at_0p1pct", "flagged_at_1pct")},
            "tpr_curve": metrics.get("tpr_curve", ""), "method_seconds": seconds, "reference_seconds": float(refs["seconds"]),
            "references": spec.references.key(), "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)


def offline_lira_rows(specs, *, models: ModelStore | None = None, results: ResultStore | None = None) -> list[dict]:
    """The rows of ``specs`` (each computed where missing)."""
    return [run_offline_lira(spec, models=models, results=results) for spec in specs]
