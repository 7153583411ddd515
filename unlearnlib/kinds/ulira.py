"""U-LiRA: a per-example likelihood-ratio attack on unlearned models, with shadow models (issue 34).

Hayes, Shumailov, Triantafillou, Khalifa & Papernot, "Inexact Unlearning Needs More Careful
Evaluations to Avoid a False Sense of Privacy" (arXiv 2403.01218; xcadet/deepunlearn
``pipeline/lira`` runs it on CIFAR-10 with 64 shadow splits x 10 forget sets). For one target
example x and a model, the attack asks: is the model's logit-scaled confidence on x more likely
under the method's shadow models that unlearned x, or under shadow models retrained without x?
Statistic: log N(phi; unlearned) - log N(phi; retrained), each a per-example Gaussian
(:mod:`unlearnlib.evaluation.lira`).

The shadow design (:class:`ShadowSet`), scaled to BreastMNIST (546 training images, forget sets
of 55 at the main table's 10 %):

- the targets are the examples of the main table's forget sets of the evaluated seeds (the
  *pool*, their union: about 225 of 546 images for 5 seeds);
- shadow k is an original of its own seed trained on the *whole* training split, as the study's
  originals are (not on a random half, as Hayes et al.'s, whose targets were half-data models
  too: LiRA needs shadows made like the target, and the target here is the study's own model;
  under the cpu recipe's floor of 800 steps a half-data model costs as much as a full one anyway);
- shadow k forgets F_k, |F_k| = the main table's forget size, drawn from the pool by rounds:
  each round cuts a fresh permutation of the pool into one block per evaluated seed (a block
  is at most |F| since the pool is at most seeds x |F|) and pads each block with other pool
  examples up to |F|; ``rounds`` rounds make K = rounds x seeds shadows, and every pool example
  is forgotten by at least ``rounds`` of them (8, the issue's minimum; padding adds about 2);
- per shadow: the method's unlearned model (the method at the settings of the attacked runs)
  and one retrain on train minus F_k, shared by every method (for ``retrain`` as the method
  under test, a second retrain of another seed). The "unlearned" Gaussian of x comes from the
  unlearned shadows that forgot x, the "retrained" one from the retrains of those same shadows
  (the only retrains that never trained on x): at least 8 per side, by the schedule.

The attack on the study's models (:class:`ULiraSpec`, one row per method and seed): the method's
unlearned model (label 1) and the study's retrain (label 0) scored on that seed's forget set.
``retrain`` as the method: a retrain of another seed (calibration: at chance); ``original``: the
original (calibration: far above). Per-example shadow scores are model-cache side files
(:func:`cached_arrays`), not ledger rows: they are intermediate (K x pool per method), made from
cached models, and read by nothing but the attack rows, which carry the results.
"""
from __future__ import annotations

import dataclasses
import functools
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np

from ..evaluation import lira
from ..algorithms import DivergedError
from .originals import StudyData, original_model, study_data
from ..paths import atomic_write_bytes
from ..provenance import ULIRA_VERSION, compute_path_tag, config_key, method_code_version, plain
from .runner import ResultStore, forget_split, prepare, unlearned_model, unlearning_task
from ..scenarios.common import split_train
from .specs import PIPELINE_VERSION, ExperimentSpec, OriginalSpec, retrain_seed
from ..results.store import ModelStore
from ..training import evaluate
from ..training_rules import TRAINING_RULES

LEDGER_KIND = "ulira"
# Shadow originals take seeds SHADOW_SEED_BASE + 1000 x design seed + k: below the retrain seeds
# (specs.RETRAIN_SEED_BASE) and above every evaluated or tuning seed, so no shadow is a study model.
SHADOW_SEED_BASE = 10_000
SIDE_FILES = "lira_scores"  # the model cache's folder of per-example score arrays


def cached_arrays(store: ModelStore, name: str, spec, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays of ``spec`` (computed once, then read) in ``<model cache>/lira_scores/<name>-<key>.npz``;
    the key covers the spec, its code version and the training rules, as a model's name does."""
    key = config_key({"spec": spec, "code": spec.code_version(), "training_rules": TRAINING_RULES})
    path = Path(store.root) / SIDE_FILES / f"{name}-{key}.npz"
    if path.exists():
        try:
            with np.load(path) as found:
                return {k: found[k] for k in found.files}
        except (OSError, ValueError):
            pass  # a truncated file counts as absent
    arrays = compute()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return arrays


def schedule(n_pool: int, forget_size: int, *, rounds: int, blocks: int, seed: int) -> np.ndarray:
    """(rounds x blocks, n_pool) bool: the pool examples each shadow forgets (see the module
    docstring). Every row holds ``forget_size`` examples; every column at least ``rounds``."""
    if not 1 <= forget_size <= n_pool or blocks * forget_size < n_pool or rounds < 1:
        raise ValueError(f"need 1 <= forget size ({forget_size}) <= pool ({n_pool}) <= blocks ({blocks}) x forget size, "
                         f"and rounds >= 1 (got {rounds})")
    rng = np.random.default_rng(seed)
    forgets = np.zeros((rounds * blocks, n_pool), dtype=bool)
    for r in range(rounds):
        for b, block in enumerate(np.array_split(rng.permutation(n_pool), blocks)):
            row = forgets[r * blocks + b]
            row[block] = True
            row[rng.choice(np.flatnonzero(~row), forget_size - len(block), replace=False)] = True
    return forgets


# ----------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class ShadowSet:
    """The shadow originals and retrains of one design: ``original`` gives the dataset, recipe
    and profile, its seed is the design's seed; the pool is the forget sets of ``scenario``
    (``scenario_params``) on the evaluated ``seeds``; K = ``rounds`` x len(seeds)."""

    original: OriginalSpec
    scenario: str
    scenario_params: tuple
    seeds: tuple[int, ...]
    rounds: int = lira.MIN_PER_SIDE

    def __post_init__(self) -> None:
        if not 0 <= self.original.seed < 90 or not 1 <= self.n_shadows < 1000 or self.rounds < 1:
            raise ValueError(f"the design seed must lie in [0, 90) and K = rounds x seeds in [1, 1000); got seed "
                             f"{self.original.seed}, {self.rounds} rounds x {len(self.seeds)} seeds")

    @property
    def n_shadows(self) -> int:
        return self.rounds * len(self.seeds)

    @property
    def profile(self) -> str:
        return self.original.profile

    def key(self) -> str:
        return config_key(self)

    def code_version(self) -> str:
        return f"p{PIPELINE_VERSION}ul{ULIRA_VERSION}-{method_code_version('retrain')}{compute_path_tag()}"

    def label(self) -> str:
        return f"U-LiRA shadows of {self.original.dataset} ({self.n_shadows} originals and retrains)"

    def shadow_original(self, k: int) -> OriginalSpec:
        return dataclasses.replace(self.original, seed=SHADOW_SEED_BASE + 1000 * self.original.seed + k)

    def main_experiment(self, seed: int, method: str = "retrain", hyperparameters: tuple = ()) -> ExperimentSpec:
        """The main table's run of ``method`` on seed ``seed`` (whose forget set the pool holds)."""
        return ExperimentSpec(dataclasses.replace(self.original, seed=seed), self.scenario, self.scenario_params, method, hyperparameters)

    def shadow_experiment(self, k: int, method: str = "retrain", hyperparameters: tuple = ()) -> ExperimentSpec:
        """Shadow k's run of ``method``; its scenario is a label only (the split is :func:`shadow_split`)."""
        return ExperimentSpec(self.shadow_original(k), "ulira_shadow", (("design", self.key()), ("shadow", k)), method, hyperparameters)


@dataclass(frozen=True)
class ShadowModel:
    """Shadow ``k``'s original (``replica`` 0) and its retrain of init seed ``retrain_seed(seed, replica)``."""

    shadows: ShadowSet
    k: int
    replica: int = 0

    def label(self) -> str:
        return f"U-LiRA shadow {self.k} (retrain replica {self.replica}) of {self.shadows.original.dataset}"


@dataclass(frozen=True)
class ShadowUnlearning:
    """Every shadow's unlearned model of ``method`` at ``hyperparameters``, scored on the pool."""

    shadows: ShadowSet
    method: str
    hyperparameters: tuple = ()

    @property
    def profile(self) -> str:
        return self.shadows.profile

    def code_version(self) -> str:
        return f"{self.shadows.code_version()}-{method_code_version(self.method)}"

    def label(self) -> str:
        return f"U-LiRA shadow unlearning of {self.method} on {self.shadows.original.dataset}"


@dataclass(frozen=True)
class ULiraSpec:
    """The attack on ``experiment`` (a main-table run: method, settings, seed) with ``shadows``."""

    kind: ClassVar[str] = LEDGER_KIND

    shadows: ShadowSet
    experiment: ExperimentSpec
    fixed_variance: bool = False  # True: every fit takes its side's pooled sd (the reference's option for few shadows)

    def __post_init__(self) -> None:
        e, s = self.experiment, self.shadows
        if (e.original.dataset, e.scenario, e.scenario_params) != (s.original.dataset, s.scenario, s.scenario_params) or e.seed not in s.seeds:
            raise ValueError(f"{e.label()} is not a run whose forget set the shadow design's pool holds "
                             f"({s.original.dataset}, {s.scenario}{dict(s.scenario_params)}, seeds {s.seeds})")

    @property
    def unlearning(self) -> ShadowUnlearning:
        return ShadowUnlearning(self.shadows, self.experiment.method, self.experiment.hyperparameters)

    @property
    def profile(self) -> str:
        return self.experiment.profile

    def code_version(self) -> str:
        return f"{self.unlearning.code_version()}-{method_code_version('retrain')}"

    def label(self) -> str:
        return f"U-LiRA on {self.experiment.label()}"


def shadow_set(profile, dataset: str, *, seeds=None, fraction: float = 0.1, rounds: int = lira.MIN_PER_SIDE,
               design_seed: int = 0) -> ShadowSet:
    """The study's design on ``dataset``: the main table's forget sets (random, ``fraction``) of
    ``seeds`` (default the profile's) as the pool."""
    original = OriginalSpec.from_profile(profile, dataset, design_seed)
    return ShadowSet(original, "random", (("fraction", fraction),), tuple(profile.seeds if seeds is None else seeds), rounds)


# ----------------------------------------------------------------------------- the design on data


@functools.lru_cache(maxsize=8)
def design(shadows: ShadowSet, data: StudyData) -> tuple[np.ndarray, np.ndarray]:
    """(pool, forgets): the pool's dataset indices (sorted) and :func:`schedule`'s (K, pool) table."""
    sets = [forget_split(shadows.main_experiment(s), data).forget for s in shadows.seeds]
    pool = np.unique(np.concatenate(sets))
    forgets = schedule(len(pool), max(map(len, sets)), rounds=shadows.rounds, blocks=len(shadows.seeds), seed=shadows.original.seed)
    return pool, forgets


def shadow_split(shadows: ShadowSet, k: int, data: StudyData):
    pool, forgets = design(shadows, data)
    return split_train(data.split("train"), pool[forgets[k]], f"U-LiRA shadow {k}: {forgets[k].sum()} pool images")


def _shadow_task(shadows: ShadowSet, k: int, data: StudyData, store: ModelStore):
    spec = shadows.shadow_original(k)
    original, _ = original_model(spec, data, store=store, progress=False)
    split = shadow_split(shadows, k, data)
    return split, unlearning_task(spec, data, original, split)


def train_shadow(spec: ShadowModel, *, data: StudyData | None = None, store: ModelStore | None = None) -> float:
    """Train (or read) shadow k's original and retrain into the model cache; their recorded seconds."""
    shadows, store = spec.shadows, store or ModelStore()
    data = data or study_data(shadows.original)
    split, task = _shadow_task(shadows, spec.k, data, store)
    seconds = float(store.metadata("original", shadows.shadow_original(spec.k))["seconds"]) if spec.replica == 0 else 0.0
    seed = retrain_seed(shadows.shadow_original(spec.k).seed, spec.replica)
    return seconds + unlearned_model(shadows.shadow_experiment(spec.k), task, split, store, False, seed=seed)[1]


def _confidence(model, data: StudyData, indices: np.ndarray) -> np.ndarray:
    result = evaluate(model, data.tensors.subset(indices))
    return lira.logit_confidence(result.logits, result.labels)


def shadow_scores(spec: ShadowUnlearning, *, data: StudyData | None = None, store: ModelStore | None = None) -> dict[str, np.ndarray]:
    """Per shadow and pool example: the method's unlearned model's score (``scores``; a diverged
    run's row NaN) and the retrain's (``reference``); ``forgets``, ``pool``, the method's
    ``seconds`` over the shadows and ``train_seconds`` of the shadows' originals and retrains."""
    shadows, store = spec.shadows, store or ModelStore()
    data = data or study_data(shadows.original)

    def compute() -> dict[str, np.ndarray]:
        pool, forgets = design(shadows, data)
        scores, reference = np.full(forgets.shape, np.nan), np.empty(forgets.shape)
        seconds = train_seconds = 0.0
        for k in range(shadows.n_shadows):
            split, task = _shadow_task(shadows, k, data, store)
            retrain, took = unlearned_model(shadows.shadow_experiment(k), task, split, store, False)
            train_seconds += took + float(store.metadata("original", shadows.shadow_original(k))["seconds"])
            reference[k] = _confidence(retrain, data, pool)
            try:
                if spec.method == "retrain":  # another seed's retrain: the method that forgets exactly
                    model, took = unlearned_model(shadows.shadow_experiment(k), task, split, store, False,
                                                  seed=retrain_seed(shadows.shadow_original(k).seed, 1))
                else:
                    model, took = unlearned_model(shadows.shadow_experiment(k, spec.method, spec.hyperparameters), task, split, store, False)
            except DivergedError:
                continue
            seconds += took
            scores[k] = _confidence(model, data, pool)
        return {"pool": pool, "forgets": forgets, "scores": scores, "reference": reference, "seconds": np.float64(seconds),
                "train_seconds": np.float64(train_seconds)}

    return cached_arrays(store, "ulira", spec, compute)


def fit_gaussians(shadow: dict[str, np.ndarray], examples: np.ndarray, *, fixed_variance: bool = False) -> lira.Gaussians:
    """The "unlearned" (in) and "retrained" (out) Gaussians of ``examples`` (dataset indices in
    the pool): from the shadows that forgot each, their unlearned model and their retrain."""
    position = np.searchsorted(shadow["pool"], examples)
    if (position >= len(shadow["pool"])).any() or (shadow["pool"][np.minimum(position, len(shadow["pool"]) - 1)] != examples).any():
        raise ValueError("every attacked example must lie in the shadow design's pool (a main-table forget set of its seeds)")
    forgot = shadow["forgets"][:, position]
    scores = np.vstack([np.where(forgot, shadow["scores"][:, position], np.nan), np.where(forgot, shadow["reference"][:, position], np.nan)])
    side = np.vstack([np.ones_like(forgot), np.zeros_like(forgot)])
    return lira.per_example_gaussians(scores, side, fixed_variance=fixed_variance)


# ----------------------------------------------------------------------------- the attack row


def run_ulira(spec: ULiraSpec, *, data: StudyData | None = None, models: ModelStore | None = None,
              results: ResultStore | None = None) -> dict:
    """The U-LiRA row of one method and seed (computed and appended when missing; see the module docstring)."""
    results = results or ResultStore()

    def compute() -> dict:
        models_ = models or ModelStore()
        experiment = spec.experiment
        data_, split, task = prepare(experiment, data, models_, ledger=results.ledger)
        shadow = shadow_scores(spec.unlearning, data=data_, store=models_)
        diverged = int(np.isnan(shadow["scores"]).all(axis=1).sum())
        retrained, _ = unlearned_model(experiment.retrain_spec(), task, split, models_, False)
        replica = {"seed": retrain_seed(experiment.seed, 1)} if experiment.method == "retrain" else {}
        status, metrics, started, fits = "ok", {}, time.perf_counter(), None
        try:
            if diverged == spec.shadows.n_shadows:  # nothing to fit the "unlearned" side with
                raise DivergedError(f"every shadow run of {experiment.method} diverged")
            fits = fit_gaussians(shadow, split.forget, fixed_variance=spec.fixed_variance)
            target, seconds = unlearned_model(experiment, task, split, models_, False, **replica)
            scores = np.r_[lira.likelihood_ratio(_confidence(target, data_, split.forget), fits),
                           lira.likelihood_ratio(_confidence(retrained, data_, split.forget), fits)]
            labels = np.r_[np.ones(len(split.forget)), np.zeros(len(split.forget))]
            metrics = {**lira.attack_summary(scores, labels), "tpr_curve": json.dumps(np.round(lira.tpr_curve(scores, labels), 6).tolist())}
        except DivergedError as error:
            status, seconds = f"diverged: {error}", time.perf_counter() - started
        fitted = {"min_unlearned": int(fits.n_in.min()), "min_retrained": int(fits.n_out.min()),
                  "pooled_sd_share": float((fits.pooled_in | fits.pooled_out).mean())} if fits is not None else {}
        return {
            "dataset": experiment.original.dataset, "seed": experiment.seed, "scenario": experiment.scenario,
            **{f"scenario_{k}": v for k, v in experiment.scenario_params}, "method": experiment.method,
            "hyperparameters": json.dumps(plain(experiment.method_hyperparameters().as_dict()), sort_keys=True),
            "status": status, "forget_size": len(split.forget), "n_shadows": spec.shadows.n_shadows,
            "shadows_diverged": diverged, **{k: fitted.get(k, float("nan")) for k in ("min_unlearned", "min_retrained", "pooled_sd_share")},
            "fixed_variance": spec.fixed_variance,
            **{k: metrics.get(k, float("nan")) for k in ("auc", "tpr_at_1pct", "tpr_at_0p1pct", "flagged_at_1pct")},
            "tpr_curve": metrics.get("tpr_curve", ""), "method_seconds": seconds,
            "shadow_method_seconds": float(shadow["seconds"]), "shadow_train_seconds": float(shadow["train_seconds"]),
            "design": spec.shadows.key(), "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)


def ulira_rows(specs, *, models: ModelStore | None = None, results: ResultStore | None = None) -> list[dict]:
    """The rows of ``specs`` (each computed where missing)."""
    return [run_ulira(spec, models=models, results=results) for spec in specs]
