"""Every forget set the study reads, committed as image indices (issue 33, item 9).

A forget set is fixed by its original, its scenario and parameters and its seed: the retrain
spec of any experiment names it (method and hyper-parameters do not change it), so its key is
that spec's ledger key. ``data/ledger/forget_sets.csv`` holds one row per forget set: the key,
dataset, scenario, parameters, seed, size and the sorted indices into the dataset (space
separated; ``load_dataset`` orders images the same way on every machine). With them a reader
can count how often the same images are drawn across seeds (:func:`overlap_table`) without
rebuilding a split, and ``verify`` can check that a split rebuilt from the data is the one the
rows were computed on.

``python -m unlearnlib ledger forget-sets --profile cpu`` (run by ``make reproduce`` after the rows)
adds the forget sets of every spec the plan lists that the file lacks; computing a split needs
the data and, for the difficulty scenario, the memorization scores from the ledger.
"""
from __future__ import annotations

import io
import json
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..results.ledger import ledger_dir
from ..paths import atomic_write_bytes
from ..provenance import config_key
from ..kinds.specs import TUNING_SEED, ExperimentSpec

FILE = "forget_sets.csv"
COLUMNS = ("key", "dataset", "scenario", "scenario_params", "seed", "forget_size", "indices")


def path(file: str | Path | None = None) -> Path:
    """``file``, else the ledger folder's ``forget_sets.csv``."""
    return Path(file) if file is not None else ledger_dir() / FILE


def experiments_of(specs: Iterable) -> list[ExperimentSpec]:
    """The retrain spec of each forget set ``specs`` read (any spec on an experiment), each once."""
    found = {}
    for spec in specs:
        experiment = spec if isinstance(spec, ExperimentSpec) else getattr(spec, "experiment", None)
        if isinstance(experiment, ExperimentSpec):
            retrain = experiment.retrain_spec()
            found.setdefault(config_key(retrain), retrain)
    return list(found.values())


def read(file: str | Path | None = None) -> pd.DataFrame:
    """The committed forget sets (empty, with :data:`COLUMNS`, when there are none)."""
    target = path(file)
    if not target.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.read_csv(target, dtype={"key": str, "indices": str, "scenario_params": str})


def indices(row) -> np.ndarray:
    return np.array(str(row["indices"]).split(), dtype=np.int64)


def record_row(spec: ExperimentSpec, forget: np.ndarray) -> dict:
    return {"key": config_key(spec.retrain_spec()), "dataset": spec.original.dataset, "scenario": spec.scenario,
            "scenario_params": json.dumps(dict(spec.scenario_params), sort_keys=True), "seed": spec.seed,
            "forget_size": len(forget), "indices": " ".join(str(int(i)) for i in np.sort(forget))}


def write(rows: list[dict], file: str | Path | None = None) -> Path:
    """Add ``rows`` to the file (a row whose key is there already is replaced), sorted by key, atomically."""
    table = pd.concat([read(file), pd.DataFrame(rows, columns=list(COLUMNS))], ignore_index=True)
    table = table.drop_duplicates("key", keep="last").sort_values("key", kind="stable")
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    target = path(file)
    atomic_write_bytes(target, buffer.getvalue().encode())
    return target


def record(specs: Iterable, *, results=None, models=None, file: str | Path | None = None) -> int:
    """Compute and add the forget set of every experiment ``specs`` read that the file lacks;
    returns how many were added. Loads each original's data once."""
    from ..kinds.originals import load_study_data
    from ..kinds.runner import ResultStore, forget_split

    results = results or ResultStore()
    file = Path(results.ledger.root) / FILE if file is None else file
    by_original = defaultdict(list)
    for experiment in missing(specs, file):
        by_original[experiment.original].append(experiment)
    rows = []
    for original, group in by_original.items():
        data = load_study_data(original)
        for experiment in group:
            split = forget_split(experiment, data, store=models, ledger=results.ledger)
            rows.append(record_row(experiment, split.forget))
    if rows:
        write(rows, file)
    return len(rows)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = len(np.union1d(a, b))
    return len(np.intersect1d(a, b)) / union if union else float("nan")


def overlap_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, scenario and parameters, across the evaluation seeds (the tuning seed's sets,
    drawn for another original, are left out): how many forget sets (seeds), their mean size,
    the mean Jaccard overlap of two seeds' sets (two independent uniform draws of a share f of
    the training split overlap by about f / (2 - f)), and the share of the images ever drawn
    that more than one seed draws."""
    out = []
    table = table[table["seed"].astype(int) != TUNING_SEED]
    for (dataset, scenario, params), group in table.groupby(["dataset", "scenario", "scenario_params"], sort=True):
        sets = [indices(r) for _, r in group.sort_values("seed").iterrows()]
        pairs = [jaccard(a, b) for a, b in combinations(sets, 2)]
        counts = pd.Series(np.concatenate(sets)).value_counts()
        out.append({"dataset": dataset, "scenario": scenario, "scenario_params": params, "seeds": len(sets),
                    "mean_size": float(np.mean([len(s) for s in sets])),
                    "mean_pairwise_jaccard": float(np.mean(pairs)) if pairs else float("nan"),
                    "share_in_several_seeds": float((counts > 1).mean()) if len(counts) else float("nan")})
    return pd.DataFrame(out)


OVERLAP_TABLE = "forget_set_overlap"  # figures/forget_set_overlap.csv, which the report and README read


def study_specs(profile: str, notebooks: list[str] | None = None, parameters: dict | None = None) -> list:
    """Every spec ``reproduce`` would read for ``notebooks`` (default all) at ``parameters``."""
    from .plan import make_plan

    return [need.spec for need in make_plan(profile, notebooks, parameters=parameters).needs]


def missing(specs: Iterable, file: str | Path | None = None) -> list[ExperimentSpec]:
    """The retrain specs of the forget sets ``specs`` read that the file lacks."""
    known = set(read(file)["key"])
    return [e for e in experiments_of(specs) if config_key(e) not in known]


def write_overlap(file: str | Path | None = None) -> Path:
    """``figures/forget_set_overlap.csv`` (and ``.md``) from the committed forget sets."""
    from ..evaluation.stats import write_table

    return write_table(overlap_table(read(file)), OVERLAP_TABLE)[0]
