"""The notebooks' opening helper and provenance cell (``unlearnlib.report.notebook``)."""
from __future__ import annotations

import pandas as pd
import pytest

from unlearnlib.report import notebook
from unlearnlib.profiles import get_profile


@pytest.fixture
def shown(monkeypatch):
    """What the helpers display, as mime bundles."""
    import IPython.display

    bundles = []
    monkeypatch.setattr(IPython.display, "display", lambda bundle, raw=False: bundles.append(bundle))
    return bundles


def test_start_resolves_the_profile_and_its_seeds(shown):
    prof, seeds = notebook.start("cpu")
    assert prof is get_profile("cpu") and seeds == [0, 1, 2, 3, 4]
    assert notebook.start("cpu", seed_set="curve_seeds")[1] == [0, 1, 2]
    assert notebook.start("cpu", (7, 8))[1] == [7, 8]
    table = shown[0]["text/plain"]
    assert "resnet_tiny_nopool" in table and "epochs 60" in table and "0, 1, 2, 3, 4" in table and "TrainConfig(" not in table


def test_start_refuses_an_unknown_profile_or_seed_set(shown):
    with pytest.raises(ValueError, match="unknown profile 'nosuch'"):
        notebook.start("nosuch")
    with pytest.raises(ValueError, match="unknown seed set 'eval_seeds'; allowed: seeds, curve_seeds"):
        notebook.start("cpu", seed_set="eval_seeds")


def _rows(keys, finished, fingerprint="abc", machine="AMD EPYC, 2 threads"):
    return pd.DataFrame({"key": keys, "finished_utc": finished, "unlearnlib_version": "0.1.0", "commit": "b262a0bf4c99",
                         "machine": machine, "fingerprint": fingerprint, "test_acc": 0.7})


def test_provenance_names_when_and_where_the_results_were_computed():
    first = _rows(["k1", "k2"], ["2026-11-28T07:53:24+00:00", "2026-11-29T10:00:00+00:00"])
    second = pd.concat([_rows(["k2"], ["2026-11-29T10:00:00+00:00"]),  # a row shown twice counts once
                        _rows(["k3"], ["2026-11-27T01:02:00+00:00"], fingerprint="def", machine="other CPU")])
    derived = pd.DataFrame({"method": ["retrain"], "test_acc_mean": [0.7]})  # a summary: no ledger columns, skipped
    found = notebook.results_provenance(first, second, derived)
    assert found["results"] == "3 ledger rows"
    assert found["computed (UTC)"] == "2026-11-27 01:02 to 2026-11-29 10:00"
    assert found["machines"] == "abc: AMD EPYC, 2 threads (2 rows); def: other CPU (1 rows)"
    assert "none" in notebook.results_provenance(derived)["results"]


def test_provenance_is_shown_as_a_table_and_handed_over_as_data(shown):
    notebook.provenance(_rows(["k1"], ["2026-11-28T07:53:24+00:00"]))
    bundle = shown[0]
    assert bundle[notebook.PROVENANCE_MIME]["results"] == "1 ledger rows"
    assert "<table>" in bundle["text/html"] and "{" not in bundle["text/plain"]
