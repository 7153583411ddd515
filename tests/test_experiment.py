"""Experiment helpers: comparison with the retrained model."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from unlearnlib.experiment import compare_to_retrain


def _rows(method, retain, forget, test, seconds, seed=0):
    return {"dataset": "d", "model": "m", "image_size": 28, "scenario": "s", "forget_size": 10, "seed": seed,
            "method": method, "retain_acc": retain, "forget_acc": forget, "test_acc": test, "seconds": seconds}


def test_gap_and_rte_are_measured_against_the_same_runs_retrain():
    table = pd.DataFrame([
        _rows("retrain", 0.9, 0.8, 0.7, 100.0), _rows("finetune", 0.95, 0.9, 0.7, 10.0), _rows("original", 1.0, 1.0, 0.7, 0.0),
        _rows("retrain", 0.5, 0.5, 0.5, 50.0, seed=1), _rows("finetune", 0.5, 0.8, 0.5, 25.0, seed=1),
    ])
    out = compare_to_retrain(table)
    assert out["gap_to_retrain"].tolist() == pytest.approx([0, 0.05, (0.1 + 0.2) / 3, 0, 0.1])
    assert out["rte"].tolist()[:2] == [1.0, 10.0] and np.isnan(out["rte"][2]) and out["rte"][4] == 2.0


def test_missing_retrain_is_an_error():
    with pytest.raises(ValueError, match="add 'retrain'"):
        compare_to_retrain(pd.DataFrame([_rows("finetune", 0.9, 0.9, 0.9, 1.0)]))
