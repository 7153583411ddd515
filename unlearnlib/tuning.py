"""Hyper-parameter search for unlearning methods, with its cost counted.

Each method declares a search space; Optuna's seeded TPE sampler searches it on the
validation split under one of two objectives:

- ``retrain`` (the paper's setting, needs the retrained model): the mean absolute gap to
  the retrained model over retain, forget and validation accuracy and MIA-efficacy.
- ``retrain_free`` (usable in practice): forget accuracy and MIA-efficacy should look like
  they do on held-out data, and validation accuracy should not fall below the original's:
  |acc(forget) - acc(held-out)| + |MIA(forget) - MIA(held-out)| + max(0, acc_val(original) - acc_val).
  The validation split is halved: one half trains the attack (non-members), the other is
  the held-out probe.

Every trial's wall time (unlearning plus scoring) is recorded; the cost of tuning is their
sum, reported as a multiple of one retraining. :func:`run_tuning` runs the search of a
:class:`~unlearnlib.specs.TuningSpec` and appends its row (best parameters, every trial, the
cost) to the ledger; :func:`tuned_hyperparameters` reads the best parameters back.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import optuna
from torch import nn

from .algorithms import DivergedError, UnlearningTask, get_method, unlearn
from .attacks import mia_efficacy
from .originals import StudyData
from .provenance import plain
from .runner import ResultStore, prepare, unlearned_model
from .specs import TuningSpec
from .store import ModelStore
from .training import Tensors, evaluate

OBJECTIVES = ("retrain", "retrain_free")
DIVERGED_VALUE = 3.0  # above any reachable objective value (each term is at most 1)


@dataclass(frozen=True)
class TuningResult:
    method: str
    objective: str
    best_params: dict
    best_value: float
    trials: list[dict]  # number, params, value, seconds

    @property
    def total_seconds(self) -> float:
        return float(sum(t["seconds"] for t in self.trials))


def suggest(trial: optuna.Trial, space: dict[str, tuple]) -> dict:
    """Draw one value per declared hyper-parameter."""
    params = {}
    for name, (kind, *bounds) in space.items():
        if kind == "float":
            params[name] = trial.suggest_float(name, bounds[0], bounds[1])
        elif kind == "logfloat":
            params[name] = trial.suggest_float(name, bounds[0], bounds[1], log=True)
        elif kind == "int":
            params[name] = trial.suggest_int(name, bounds[0], bounds[1])
        elif kind == "choice":
            params[name] = trial.suggest_categorical(name, bounds[0])
        else:
            raise ValueError(f"unknown search-space kind {kind!r} for {name}; use float, logfloat, int or choice")
    return params


def _halves(val: Tensors, seed: int) -> tuple[Tensors, Tensors]:
    order = np.random.default_rng(seed).permutation(len(val))
    middle = len(order) // 2
    return val.subset(np.sort(order[:middle])), val.subset(np.sort(order[middle:]))


def validation_scores(model: nn.Module, task: UnlearningTask, *, seed: int) -> dict[str, float]:
    """Accuracies and MIA-efficacies on the data tuning may look at (no test data)."""
    attack_half, probe_half = _halves(task.val, seed)
    retain, forget, attack, probe = (evaluate(model, d) for d in (task.retain, task.forget, attack_half, probe_half))

    def mia(target):
        return mia_efficacy(retain.logits, retain.labels, attack.logits, attack.labels, target.logits, target.labels, seed=seed)

    return {
        "retain_acc": retain.accuracy,
        "forget_acc": forget.accuracy,
        "val_acc": (attack.accuracy * len(attack.labels) + probe.accuracy * len(probe.labels)) / len(task.val),
        "heldout_acc": probe.accuracy,
        "mia_forget": mia(forget),
        "mia_heldout": mia(probe),
    }


def objective_value(objective: str, scores: dict, *, retrained: dict | None, original: dict) -> float:
    if objective == "retrain":
        if retrained is None:
            raise ValueError("the 'retrain' objective needs the retrained model's validation scores")
        keys = ("retain_acc", "forget_acc", "val_acc", "mia_forget")
        return float(np.mean([abs(scores[k] - retrained[k]) for k in keys]))
    if objective == "retrain_free":
        return (
            abs(scores["forget_acc"] - scores["heldout_acc"])
            + abs(scores["mia_forget"] - scores["mia_heldout"])
            + max(0.0, original["val_acc"] - scores["val_acc"])
        )
    raise ValueError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}")


def tune(
    method: str,
    task: UnlearningTask,
    *,
    objective: str,
    n_trials: int,
    seed: int,
    retrained: nn.Module | None = None,
) -> TuningResult:
    """Search ``method``'s declared space for ``n_trials`` trials; lower objective is better."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1; got {n_trials}")
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {OBJECTIVES}")
    spec = get_method(method)
    if not spec.hyperparameters.search_space:
        raise ValueError(f"{method} declares no search space: nothing to tune")
    original_scores = validation_scores(task.original, task, seed=seed)
    retrained_scores = validation_scores(retrained, task, seed=seed) if retrained is not None else None
    trials: list[dict] = []

    def run_trial(trial: optuna.Trial) -> float:
        start = time.perf_counter()
        params = suggest(trial, spec.hyperparameters.search_space)
        try:
            model = unlearn(method, task, spec.hyperparameters(**params), seed=seed).model
            value = objective_value(objective, validation_scores(model, task, seed=seed), retrained=retrained_scores, original=original_scores)
            status = "ok"
        except DivergedError as error:  # reported with the trial, and the worst value the objective can take
            value, status = DIVERGED_VALUE, f"diverged: {error}"
        trials.append({"number": trial.number, "params": params, "value": value, "status": status, "seconds": time.perf_counter() - start})
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(run_trial, n_trials=n_trials)
    return TuningResult(method, objective, study.best_params, float(study.best_value), trials)


# ----------------------------------------------------------------------------- tuning runs


def run_tuning(
    spec: TuningSpec,
    *,
    data: StudyData | None = None,
    models: ModelStore | None = None,
    results: ResultStore | None = None,
) -> dict:
    """The ledger row of one tuning run: best parameters, every trial, and the cost in retrains."""
    results = results or ResultStore()

    def compute() -> dict:
        models_ = models or ModelStore()
        experiment = spec.experiment
        data_, split, task = prepare(experiment, data, models_, ledger=results.ledger)
        retrained, retrain_seconds = unlearned_model(experiment.retrain_spec(), task, split, models_, progress=False)
        result = tune(experiment.method, task, objective=spec.objective, n_trials=spec.n_trials, seed=experiment.seed,
                      retrained=retrained if spec.objective == "retrain" else None)
        return {
            "dataset": experiment.original.dataset,
            "seed": experiment.seed,
            "scenario": experiment.scenario,
            "forget_size": len(split.forget),
            "method": experiment.method,
            "objective": spec.objective,
            "n_trials": spec.n_trials,
            "best_params": json.dumps(plain(result.best_params), sort_keys=True),
            "best_value": result.best_value,
            "diverged_trials": sum(t.get("status", "ok") != "ok" for t in result.trials),
            "tuning_seconds": result.total_seconds,
            "retrain_seconds": retrain_seconds,
            "cost_in_retrains": result.total_seconds / retrain_seconds,
            "trials": json.dumps(plain(result.trials)),
            "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)


def tuned_hyperparameters(record: dict) -> dict:
    """The best parameters of a tuning row, as overrides for an ``ExperimentSpec``."""
    return json.loads(record["best_params"])
