"""Recompute a sample of ledger rows from scratch and compare them with the committed ones.

Each chosen experiment row is rebuilt from its stored spec in an empty model cache and an
empty scratch ledger (only the memorization estimate, an input of the difficulty scenario
that takes many models, is copied over), so the original, the retrained model and the
method all train again. Bitwise identity holds only on the same kind of processor with
the same thread count and torch build: where the row's machine fingerprint equals this
machine's, every metric must match exactly; elsewhere the recomputation is a new draw of the
same spec, judged by the measured noise model of :mod:`unlearnlib.evaluation.seed_noise`: each difference
in sds of a difference of two draws (sqrt(2) times the metric's pooled seed sd for the row's
dataset and method) must stay within the Student-t limit for the sd's degrees of freedom at a
family-wise false-alarm rate of ``alpha`` (1 %) over all comparisons of the run.
"""
from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..results.ledger import Ledger
from ..profiles import activate_compute_path, get_profile
from ..provenance import machine_fingerprint
from ..evaluation.seed_noise import ALPHA, judge, lookup, noise_model
from ..kinds.noise_floor import NoiseFloorSpec
from ..kinds.offline_lira import OfflineLiraSpec, ReferenceSet
from ..kinds.relearn import RelearnBudget, RelearnSpec
from ..kinds.runner import ResultStore, run_experiment
from ..kinds.specs import SPEC_TYPES as _SPEC_TYPES
from ..kinds.ulira import ShadowSet, ULiraSpec
from ..results.store import ModelStore

# Every spec type a ledger row's ``spec`` column names (as provenance.plain writes it): the core specs
# (kinds/specs.py) and those of the kinds in modules of their own (noise floor, relearning, LiRA).
SPEC_TYPES: dict[str, type] = {**_SPEC_TYPES, **{cls.__name__: cls for cls in (NoiseFloorSpec, RelearnSpec, RelearnBudget, ULiraSpec,
                                                                              ShadowSet, OfflineLiraSpec, ReferenceSet)}}

COMPARED = ("retain_acc", "forget_acc", "test_acc", "val_acc", "mia_efficacy", "loss_attack", "avg_gap")


def from_plain(value):
    """Inverse of :func:`unlearnlib.provenance.plain` for every type in :data:`SPEC_TYPES`
    (lists back to tuples)."""
    if isinstance(value, dict) and "__type__" in value:
        if value["__type__"] not in SPEC_TYPES:
            raise ValueError(f"unknown spec type {value['__type__']!r}; known: {', '.join(SPEC_TYPES)}")
        cls = SPEC_TYPES[value["__type__"]]
        return cls(**{f.name: from_plain(value[f.name]) for f in dataclasses.fields(cls) if f.name in value})
    if isinstance(value, list):
        return tuple(from_plain(v) for v in value)
    return value


def verify(sample: int, *, seed: int = 0, profile: str = "cpu", ledger: Ledger | None = None, alpha: float = ALPHA,
           progress: bool = True) -> pd.DataFrame:
    """Recompute ``sample`` randomly chosen current experiment rows of ``profile``; one row per
    (record, metric) with the committed and recomputed values, the difference, its size in sds
    of a difference of two draws (``draw_sd_units``), the limit it may reach, how it is judged,
    and ``ok``. Runs on the profile's compute path, as every other entry point does: its rows'
    code versions name that path, so on any other path none of them would be current."""
    if sample < 1:
        raise ValueError(f"sample must be at least 1; got {sample}")
    activate_compute_path(get_profile(profile))  # an unknown profile fails here, naming the known ones
    ledger = ledger or Ledger()
    table = ledger.table("experiments")
    if table.empty:
        raise ValueError(f"the ledger at {ledger.root} has no experiment rows to verify")
    specs = [from_plain(json.loads(s)) for s in table["spec"]]
    current = np.array([spec.code_version() == str(v) for spec, v in zip(specs, table["code_version"])])
    candidates = np.flatnonzero(current & (table["status"] == "ok").to_numpy() & (table["profile"].astype(str) == profile).to_numpy())
    if len(candidates) < sample:
        raise ValueError(f"asked to verify {sample} rows but the ledger has only {len(candidates)} current, finished rows of "
                         f"profile {profile!r}")
    chosen = np.random.default_rng(seed).choice(candidates, size=sample, replace=False)
    here = machine_fingerprint()["fingerprint"]
    model = noise_model(table[current & (table["profile"].astype(str) == profile).to_numpy()], COMPARED)
    comparisons = sample * len(COMPARED)
    out = []
    for position in sorted(chosen):
        row, spec = table.iloc[position], specs[position]
        if progress:
            print(f"[verify] recomputing {spec.label()} (made on {row.machine})", flush=True)
        with tempfile.TemporaryDirectory(prefix="unlearnlib-verify-") as scratch:
            scratch_ledger = Ledger(Path(scratch) / "ledger")
            memorization = ledger.table("memorization")
            if not memorization.empty:
                scratch_ledger.put("memorization", memorization)
            fresh = run_experiment(spec, models=ModelStore(Path(scratch) / "models"), results=_store(scratch_ledger))
        same_machine = str(row.fingerprint) == here
        for metric in COMPARED:
            committed, recomputed = float(row[metric]), float(fresh.get(metric, np.nan))
            sd, df = lookup(model, str(row.dataset), str(row.method), metric)
            if same_machine:
                judged, ok = "exact (same fingerprint)", bool(recomputed == committed or (np.isnan(committed) and np.isnan(recomputed)))
                units, limit = float("nan"), float("nan")
            else:
                units, limit, ok = judge(committed, recomputed, sd, df, comparisons, alpha)
                judged = f"new draw (other fingerprint): seed sd {sd:.3g}, {df} df"
            out.append({"key": row.key, "record": spec.label(), "metric": metric, "committed": committed, "recomputed": recomputed,
                        "difference": recomputed - committed, "draw_sd_units": units, "limit": limit, "judged": judged, "ok": ok,
                        "committed_machine": row.machine})
    return pd.DataFrame(out)


def _store(ledger: Ledger) -> ResultStore:
    store = ResultStore(ledger.root)
    store.ledger = ledger
    return store
