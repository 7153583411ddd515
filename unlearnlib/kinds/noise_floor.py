"""The noise floor: how far a second retrain lands from the first, so that "as close as retraining" has a measured bar.

Why: a verdict that a method is equivalent to retraining needs an equivalence margin per metric,
and a margin typed by hand after seeing results can be set to reach any verdict (issue 33: one
0.02 served gaps, accuracies and MIA-efficacy alike). Retraining itself is not deterministic: two
retrains on the same forget set from independent initialisations differ. That difference is what
no method can be blamed for, so each margin is derived here, by declared code, from such pairs.

- For every analysis with a verdict (:data:`ANALYSES`: the main table, the forget-size curve's
  ends, the sex and difficulty arms, the patient-level arms) each retrain row its notebook reads
  gets a replica (:class:`NoiseFloorSpec`, one row of the ledger table ``noise_floor``): a retrain
  from the independent initialisation ``retrain_seed(seed, replica)`` on the same forget set,
  evaluated as the retrain row is. A dataset with fewer than :data:`MIN_PAIRS` retrains gets more
  replicas of each (replica r against replica 0), so that every dataset has enough pairs.
- :func:`margins`, declared before any number: a metric's margin on a dataset is the
  :data:`MARGIN_QUANTILE` quantile of |replica - retrain| over every pair of that dataset, pooled
  over analyses; the average gap's, that quantile of the replica's average gap to the retrain
  (what a perfect method would score). ``floor_margins.reason`` says so from the numbers.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd

from ..evaluation.evaluation import model_metrics
from .registry import RowKind, preparation, register
from ..results.ledger import ledger_only
from ..evaluation.metrics import GAP_METRICS, average_gap
from .originals import study_data
from ..provenance import NOISE_FLOOR_VERSION, plain
from .runner import ResultStore, prepare, run_experiment, unlearned_model
from .specs import ExperimentSpec, _pipeline_code_version, metrics_tag, retrain_seed
from ..results.store import ModelStore

MARGIN_QUANTILE = 0.95  # a margin: this quantile of |replica - retrain| (numpy's default, linear interpolation)
MIN_PAIRS = 10  # fewer pairs than this on a dataset: no margin (margins() refuses; notebook_grids.noise_floor_specs adds replicas)
MARGIN_METRICS = (*GAP_METRICS, "avg_gap")


@dataclass(frozen=True)
class NoiseFloorSpec:
    """Retrain ``replica`` (>= 1) of ``experiment`` (a retrain): the same forget set, initialisation
    ``retrain_seed(seed, replica)``, compared with the retrain row (replica 0)."""

    kind: ClassVar[str] = "noise_floor"

    experiment: ExperimentSpec
    replica: int = 1

    def __post_init__(self) -> None:
        if self.experiment.method != "retrain":
            raise ValueError(f"a noise-floor run replicates a retrain; got method {self.experiment.method!r} ({self.experiment.label()})")
        if isinstance(self.replica, bool) or not isinstance(self.replica, int) or self.replica < 1:
            raise ValueError(f"replica must be an integer >= 1 (0 is the retrain row itself); got {self.replica!r}")
        retrain_seed(self.experiment.seed, self.replica)  # refuses a replica past the seed stream

    @property
    def profile(self) -> str:
        return self.experiment.profile

    @property
    def init_seed(self) -> int:
        return retrain_seed(self.experiment.seed, self.replica)

    def label(self) -> str:
        return f"noise-floor replica {self.replica} of {self.experiment.label()}"

    def code_version(self) -> str:
        return _pipeline_code_version(f"nf{NOISE_FLOOR_VERSION}{metrics_tag(self.experiment)}", "retrain")


def run_noise_floor(spec: NoiseFloorSpec, *, data=None, models: ModelStore | None = None, results: ResultStore | None = None,
                    progress: bool = False) -> dict:
    """The ledger row of ``spec`` (computed and appended when missing): the replica retrain's
    metrics (``replica_<metric>``), the retrain row's (``retrain_<metric>``), their signed
    difference (``diff_<metric>``) and the replica's average gap to the retrain (``avg_gap``)."""
    results = results or ResultStore()

    def compute() -> dict:
        nonlocal data
        models_ = models or ModelStore()
        experiment = spec.experiment
        data, split, task = prepare(experiment, data, models_, progress, ledger=results.ledger)
        retrain = run_experiment(experiment, data=data, models=models_, results=results, progress=progress)
        started = time.perf_counter()
        # The retrain path (cached per forget set and seed): it trains on the retain set only.
        model, seconds = unlearned_model(experiment, task, split, models_, progress, seed=spec.init_seed)
        metrics = model_metrics(model, data, split, seed=experiment.seed)  # the retrain row's attack seed
        reference = {k: float(retrain.get(k, math.nan)) for k in metrics}
        return {
            "dataset": experiment.original.dataset,
            "model": experiment.original.model,
            "seed": experiment.seed,
            "scenario": experiment.scenario,
            **{f"scenario_{k}": v for k, v in experiment.scenario_params},
            "forget_size": len(split.forget),
            "replica": spec.replica,
            "init_seed": spec.init_seed,
            "retrain_init_seed": int(retrain["init_seed"]),
            **{f"replica_{k}": v for k, v in metrics.items()},
            **{f"retrain_{k}": v for k, v in reference.items()},
            **{f"diff_{k}": metrics[k] - reference[k] for k in metrics},
            "avg_gap": average_gap(metrics, reference, GAP_METRICS),
            "seconds": seconds,
            "eval_seconds": time.perf_counter() - started - seconds,
            "spec": json.dumps(plain(spec), sort_keys=True),
        }

    return results.fetch(spec, compute)


def noise_floor_rows(specs: Sequence[NoiseFloorSpec], *, results: ResultStore | None = None, models: ModelStore | None = None,
                     progress: bool = True) -> pd.DataFrame:
    """The rows of ``specs`` in order, computed where missing (a progress bar over those)."""
    from tqdm import tqdm

    results = results or ResultStore()
    pending = {s for s in specs if s not in results}
    bar = tqdm(total=len(pending), desc="noise floor", disable=not progress or not pending)
    rows = []
    for spec in specs:
        data = study_data(spec.experiment.original) if spec in pending and not ledger_only() else None
        rows.append(run_noise_floor(spec, data=data, models=models, results=results))
        bar.update(spec in pending)
    bar.close()
    return pd.DataFrame(rows)


@register
class NoiseFloor(RowKind):
    """A replica retrain's row: after its retrain row (and so the original); costs a retrain of that forget set."""

    name, ledger, spec_type, label = "noise_floor", "noise_floor", NoiseFloorSpec, "noise-floor retrains"

    def requires(self, spec):
        return preparation(spec.experiment) + [spec.experiment]

    def compute(self, spec, *, ledger, models, results):
        run_noise_floor(spec, data=study_data(spec.experiment.original), models=models, results=results)

    def cost(self, spec, cost, charged):
        return cost.retrain(spec.experiment)

    def row_time(self, r, cost, charged=None):
        seconds = float(r["seconds"])
        units = cost.training(r["dataset"], cost.n_train(r["dataset"]) - r["forget_size"])
        return (seconds, units) if math.isfinite(seconds) else None


# ----------------------------------------------------------------------------- the pooled set


@dataclass(frozen=True)
class Analysis:
    """An analysis with a verdict: the notebook and grid table whose retrain rows it judges by,
    and its arms with a verdict (a scenario parameter and its values; None: every arm)."""

    name: str
    notebook: str
    table: str
    arms: tuple[str, tuple[str, ...]] | None = None


ANALYSES: tuple[Analysis, ...] = (
    Analysis("main table", "02_main_benchmark", "tuned"),
    Analysis("forget-size curve ends", "03_forget_size", "ends"),
    Analysis("sex", "04_sex_bias", "results", ("sex", ("male", "female"))),
    Analysis("difficulty", "05_difficulty", "results", ("kind", ("easy", "hard"))),
    Analysis("patient level", "08_patient_level", "results"),  # image-level and whole-lesion arms
)


# ----------------------------------------------------------------------------- margins


def _statistic(metric: str, pairs: int) -> str:
    percentile = round(100 * MARGIN_QUANTILE)
    suffix = "th" if 10 <= percentile % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(percentile % 10, "th")
    of = "the retrain replica's average gap to retrain" if metric == "avg_gap" else "|retrain replica - retrain|"
    return f"{percentile}{suffix} percentile of {of} over {pairs} pairs"


def margins(rows: pd.DataFrame) -> pd.DataFrame:
    """Each dataset's margin of each metric of :data:`MARGIN_METRICS` from noise-floor ``rows``
    (pooled over analyses; a key counted once): columns dataset, metric, margin, pairs, statistic.
    A dataset with fewer than :data:`MIN_PAIRS` pairs of a metric is refused. A margin is never below
    one image of the dataset's largest forget set (the finest change a forget metric shows)."""
    if "key" in rows:
        rows = rows.drop_duplicates("key")
    out = []
    for dataset, group in rows.groupby("dataset", sort=True):
        for metric in MARGIN_METRICS:
            values = (group["avg_gap"] if metric == "avg_gap" else group[f"diff_{metric}"].abs()).astype(float).dropna()
            if len(values) < MIN_PAIRS:
                raise ValueError(f"dataset {dataset!r} has {len(values)} retrain-vs-retrain pairs of {metric}; a margin needs at least "
                                 f"MIN_PAIRS = {MIN_PAIRS}: compute the rows of notebook_grids.noise_floor_specs(profile) first")
            measured = float(np.quantile(values, MARGIN_QUANTILE))
            # One image of the largest forget set is the finest change a forget-set metric can show: retrains that
            # agree exactly (a tiny smoke set) measure "no larger than that", never a margin of 0, which no test can meet.
            resolution = 1.0 / float(group["forget_size"].max()) if "forget_size" in group else 0.0
            statistic = _statistic(metric, len(values)) + (f", raised to one forget image (1/{1 / resolution:.0f})"
                                                           if measured < resolution else "")
            out.append({"dataset": dataset, "metric": metric, "margin": max(measured, resolution), "pairs": len(values),
                        "statistic": statistic})
    return pd.DataFrame(out, columns=["dataset", "metric", "margin", "pairs", "statistic"])
