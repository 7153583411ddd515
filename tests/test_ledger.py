"""The results ledger: rows replaced by key, sorted, provenance first; code versions; specs
round-trip for `verify`; the study-regime diagnostics (membership AUC, dead weights)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from unlearnlib.results.ledger import Ledger, MissingResultError
from unlearnlib.provenance import config_key, machine_fingerprint, method_code_version, plain, stamp
from unlearnlib.evaluation.metrics import membership_auc
from unlearnlib.models import create_model, dead_weight_share
from unlearnlib.profiles import get_profile
from unlearnlib.kinds.specs import ExperimentSpec, OriginalSpec
from unlearnlib.execution.verify import from_plain


def test_rows_are_replaced_by_key_sorted_and_provenance_comes_first(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.put("experiments", {**stamp("b", "unit", "v1"), "avg_gap": 0.2})
    ledger.put("experiments", {**stamp("a", "unit", "v1"), "avg_gap": 0.1})
    ledger.put("experiments", {**stamp("b", "unit", "v2"), "avg_gap": 0.3})  # recomputed under new code
    table = pd.read_csv(tmp_path / "experiments.csv")
    assert list(table["key"]) == ["a", "b"] and list(table["avg_gap"]) == [0.1, 0.3]
    assert list(table.columns[:3]) == ["key", "profile", "code_version"]
    assert ledger.get("experiments", "b", "v1") is None and ledger.get("experiments", "b", "v2")["avg_gap"] == 0.3
    assert not list(tmp_path.glob("*.tmp"))


def test_several_rows_per_key_for_per_sample_scores(tmp_path):
    ledger = Ledger(tmp_path)
    rows = pd.DataFrame({**stamp("k", "unit", "o1"), "sample": [2, 0, 1], "loss": [0.2, 0.0, 0.1]})
    ledger.put("sample_scores", rows)
    found = ledger.rows("sample_scores", "k", "o1")
    assert list(found["sample"]) == [0, 1, 2] and list(found["loss"]) == [0.0, 0.1, 0.2]


def test_unknown_kind_and_missing_rows_in_ledger_only_mode(tmp_path, monkeypatch):
    ledger = Ledger(tmp_path)
    with pytest.raises(ValueError, match="unknown ledger kind 'result'"):
        ledger.path("result")
    monkeypatch.setenv("UNLEARNLIB_LEDGER_ONLY", "1")
    with pytest.raises(MissingResultError, match="make reproduce"):
        ledger.fetch_or_compute("originals", "k", "o1", lambda: pytest.fail("computed"), describe="an original")


def test_method_code_versions_are_declared_per_method_and_differ_by_method():
    from unlearnlib.algorithms import get_method

    assert method_code_version("ssd") == get_method("ssd").version
    assert method_code_version("salun") != method_code_version("random_label") != method_code_version("ssd")
    assert len({method_code_version(m) for m in ("finetune", "gradient_ascent", "scrub")}) == 3


def test_fingerprint_names_processor_threads_torch_and_device():
    described = machine_fingerprint()["machine"]
    assert f"{torch.get_num_threads()} threads" in described and torch.__version__ in described


def test_specs_round_trip_through_their_json_for_verify():
    original = OriginalSpec.from_profile(get_profile("cpu"), "ham10000", 3)
    spec = ExperimentSpec.build(original, "sex", "salun", hyperparameters={"lr": 0.01}, sex="female", size=350)
    again = from_plain(json.loads(json.dumps(plain(spec))))
    assert again == spec and config_key(again) == config_key(spec) and again.code_version() == spec.code_version()


def test_membership_auc_separates_low_member_losses_and_is_chance_for_equal_ones():
    rng = np.random.default_rng(0)
    assert membership_auc(rng.exponential(0.1, 500), rng.exponential(1.0, 500)) > 0.8
    assert membership_auc(np.ones(50), np.ones(50)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="need members and non-members"):
        membership_auc(np.array([]), np.ones(3))


def test_dead_weight_share_finds_the_taps_a_one_pixel_map_never_uses():
    torch.manual_seed(0)
    x, y = torch.randn(64, 3, 16, 16), torch.randint(0, 3, (64,))
    pooled = create_model("resnet_tiny", num_classes=3, in_chans=3, image_size=16, seed=0)
    unpooled = create_model("resnet_tiny_nopool", num_classes=3, in_chans=3, image_size=16, seed=0)
    # At 16 px the stem max-pool leaves the last stage 1 x 1 maps: 8 of 9 taps of its 3 x 3 convs are dead.
    assert dead_weight_share(pooled, x, y) > dead_weight_share(unpooled, x, y)
    assert dead_weight_share(pooled, x, y) > 0.3
