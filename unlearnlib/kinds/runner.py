"""One experiment spec -> one tidy result row in the ledger; models cached on the side.

An :class:`~unlearnlib.kinds.specs.ExperimentSpec` names the original model, a forget-set scenario
and its parameters, an unlearning method and its hyper-parameter overrides. The original model
is trained once per ``OriginalSpec`` (:mod:`unlearnlib.kinds.originals`); the retrained model once per
forget set; each row once per spec. Rows go to the results ledger (:mod:`unlearnlib.results.ledger`,
committed), models to the model cache (ignored), both written atomically, so a run killed at any
moment leaves nothing half-written and a rerun only computes what is missing.

The tuning runs (:mod:`unlearnlib.kinds.tuning`) and forgetting-quality runs (:mod:`unlearnlib.evaluation.fq`)
use the same pieces: :class:`ResultStore`, :func:`prepare` and :func:`unlearned_model`.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

from torch import nn

from ..algorithms import DivergedError, UnlearningTask, get_method, unlearn
from ..evaluation.evaluation import group_count, model_metrics, shared_groups
from ..results.ledger import Ledger
from ..evaluation.metrics import GAP_METRICS, average_gap, run_time_efficiency
from .originals import (StudyData, difficulty_table, load_study_data, model_factory, original_extra_epochs, original_model,
                        original_summary)
from ..profiles import memorization_models_for
from ..provenance import config_key, key_of, method_code_version, plain, stamp
from ..scenarios import ForgetSplit, make_scenario, scenario_inputs
from .specs import ExperimentSpec, OriginalSpec, retrain_seed
from ..results.store import ModelStore
from ..training import train_longer


class ResultStore:
    """The rows of experiments, tuning runs and forgetting-quality runs, in the ledger
    under ``root`` (default: the project's ``data/ledger``). A spec says its own ledger
    ``kind``, ``profile``, ``label()`` and ``code_version()``."""

    def __init__(self, root=None):
        self.ledger = Ledger(root)

    def load(self, spec) -> dict | None:
        return self.ledger.get(spec.kind, config_key(spec), spec.code_version())

    def fetch(self, spec, compute: Callable[[], dict]) -> dict:
        """The row of ``spec``, computed by ``compute()`` and appended when missing."""
        def row() -> dict:
            computed = compute()  # first: the stamp's finished_utc is the time the row was done
            return {**stamp(config_key(spec), spec.profile, spec.code_version()), **computed}

        self.ledger.fetch_or_compute(spec.kind, config_key(spec), spec.code_version(), row, describe=spec.label())
        return self.load(spec)

    def __contains__(self, spec) -> bool:
        return self.load(spec) is not None


# ----------------------------------------------------------------------------- preparation


def scenario_arguments(spec: ExperimentSpec, data: StudyData, *, store: ModelStore | None = None, ledger: Ledger | None = None,
                       memorization_models: int | None = None) -> dict[str, Any]:
    """The scenario's parameters plus the inputs it declares (:func:`scenarios.scenario_inputs`).

    A scenario that needs per-sample ``scores`` (difficulty) gets :func:`originals.difficulty_table`,
    which, when the ledger lacks it, trains the memorization models (``memorization_models``, by
    default the spec's profile's) and the original if it is not cached."""
    arguments = dict(spec.scenario_params)
    if "scores" in scenario_inputs(spec.scenario):
        n = memorization_models or memorization_models_for(spec.profile)
        arguments["scores"] = difficulty_table(spec.original, memorization_models=n, data=data, models=store, ledger=ledger)
    return arguments


def forget_split(spec: ExperimentSpec, data: StudyData, *, store: ModelStore | None = None, ledger: Ledger | None = None,
                 memorization_models: int | None = None) -> ForgetSplit:
    """The spec's forget and retain sets. For the difficulty scenario this first computes the
    per-sample scores it ranks by, training the memorization models when the ledger lacks them
    (see :func:`scenario_arguments`)."""
    arguments = scenario_arguments(spec, data, store=store, ledger=ledger, memorization_models=memorization_models)
    return make_scenario(spec.scenario, data.dataset, seed=spec.seed, **arguments)


def unlearning_task(spec: OriginalSpec, data: StudyData, original: nn.Module, split: ForgetSplit) -> UnlearningTask:
    return UnlearningTask(
        original=original,
        retain=data.tensors.subset(split.retain),
        forget=data.tensors.subset(split.forget),
        val=data.tensors.subset(data.split("val")),
        recipe=spec.recipe,
        make_model=model_factory(spec, data.dataset),
        num_classes=data.dataset.num_classes,
    )


def prepare(experiment: ExperimentSpec, data: StudyData | None, models: ModelStore, progress: bool = False,
            ledger: Ledger | None = None) -> tuple[StudyData, ForgetSplit, UnlearningTask]:
    """Data, forget split and unlearning task of an experiment (the original from the cache,
    trained when missing; see :func:`forget_split` for what the split may train)."""
    data = data or load_study_data(experiment.original)
    original, _ = original_model(experiment.original, data, store=models, progress=progress)
    original_summary(experiment.original, data=data, models=models, ledger=ledger)  # checks, loudly, that it memorizes
    split = forget_split(experiment, data, store=models, ledger=ledger)
    return data, split, unlearning_task(experiment.original, data, original, split)


def unlearned_model(spec: ExperimentSpec, task: UnlearningTask, split: ForgetSplit, store: ModelStore, progress: bool,
                    seed: int | None = None) -> tuple[nn.Module, float]:
    """The method's model and wall time. ``seed``: the method's seed (default the spec's);
    for ``retrain`` the initialisation seed (default :func:`retrain_seed`). Retrained
    models are cached per forget set and seed."""
    if spec.method != "retrain":
        result = unlearn(spec.method, task, spec.method_hyperparameters(), seed=spec.seed if seed is None else seed, progress=progress)
        return result.model, result.seconds
    seed = retrain_seed(spec.seed) if seed is None else seed
    extra = original_extra_epochs(spec.original, store)  # a retrain trains as long as its original did
    config = {"original": spec.original, "forget": key_of(split.forget.tolist()), "hyperparameters": spec.hyperparameters, "seed": seed,
              "code": method_code_version("retrain"), **({"extra_epochs": extra} if extra else {})}
    model = task.make_model(seed)
    cached = store.load("retrain", config, model)
    if cached is not None:
        return model, cached["seconds"]
    with train_longer(extra):
        result = unlearn("retrain", task, spec.method_hyperparameters(), seed=seed, progress=progress)
    store.save("retrain", config, result.model, seconds=result.seconds)
    return result.model, result.seconds


# ----------------------------------------------------------------------------- experiment rows


def _status(metrics: dict) -> str:
    return "collapsed: predicts one class on test" if metrics.get("test_classes_predicted") == 1 else "ok"


_NOT_METRICS = ("retrain_seconds", "retrain_init_seed")


def run_experiment(
    spec: ExperimentSpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
    progress: bool = False,
) -> dict:
    """The tidy row of one spec: its metrics, the retrained model's beside them, gaps,
    timings, the full spec and its provenance. Read from the ledger when there.

    A method whose loss diverges is stopped: its row says ``status = diverged`` and has no
    metrics; one that collapses to a single class keeps its metrics and says ``collapsed``."""
    results = results or ResultStore()
    get_method(spec.method)  # fail on an unknown name before any work

    def compute() -> dict:
        nonlocal data
        models_ = models or ModelStore()
        data, split, task = prepare(spec, data, models_, progress, ledger=results.ledger)
        if spec.method == "retrain":
            reference = None
        else:
            reference = run_experiment(spec.retrain_spec(), data=data, models=models_, results=results, progress=progress)
        started = time.perf_counter()
        try:
            model, seconds = unlearned_model(spec, task, split, models_, progress)
            metrics = model_metrics(model, data, split, seed=spec.seed)
            status = _status(metrics)
        except DivergedError as error:
            seconds, metrics, status = time.perf_counter() - started, {}, f"diverged: {error}"
        if reference is None:
            reference, keys = {**metrics, "seconds": seconds}, list(metrics)
        else:  # the retrain row holds each metric of the retrained model as retrain_<metric>
            keys = [k[len("retrain_"):] for k in reference if k.startswith("retrain_") and k not in _NOT_METRICS]
            reference = {**{k: reference[k] for k in keys}, "seconds": reference["seconds"]}
        return {
            "dataset": spec.original.dataset,
            "model": spec.original.model,
            "image_size": spec.original.image_size,
            "seed": spec.seed,
            "init_seed": retrain_seed(spec.seed) if spec.method == "retrain" else spec.seed,
            "retrain_init_seed": retrain_seed(spec.seed),
            "scenario": spec.scenario,
            **{f"scenario_{k}": v for k, v in spec.scenario_params},
            "scenario_description": split.description,
            "forget_size": len(split.forget),
            "forget_fraction": len(split.forget) / (len(split.forget) + len(split.retain)),
            "forget_groups": group_count(data, split.forget),
            "forget_groups_in_retain": shared_groups(data, split),
            "method": spec.method,
            "hyperparameters": json.dumps(plain(spec.method_hyperparameters().as_dict()), sort_keys=True),
            "tuned": bool(spec.hyperparameters),
            "status": status,
            "seconds": seconds,
            **{k: metrics.get(k, float("nan")) for k in keys},
            **{f"retrain_{k}": reference[k] for k in keys},
            **{f"gap_{k}": abs(metrics.get(k, float("nan")) - reference[k]) for k in keys},
            "avg_gap": average_gap(metrics, reference, GAP_METRICS) if metrics else float("nan"),
            "retrain_seconds": reference["seconds"],
            "rte": run_time_efficiency(reference["seconds"], seconds) if spec.method != "original" else float("nan"),
            "eval_seconds": time.perf_counter() - started - seconds,
            "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)
