"""Shared fixtures: synthetic data for unit tests, the real data directory for integration."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from unlearnlib import profiles
from unlearnlib.data import make_synthetic

REAL_DATA = Path(os.environ.get("UNLEARNLIB_DATA_DIR", Path(__file__).resolve().parents[1] / "data"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Tests never touch the user's cache; one cache per test session keeps real-data loads fast.
    monkeypatch.setenv("UNLEARNLIB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    # ... nor the committed ledger: each test session appends to a ledger of its own.
    monkeypatch.setenv("UNLEARNLIB_LEDGER_DIR", str(tmp_path_factory.getbasetemp() / "ledger"))
    monkeypatch.delenv("UNLEARNLIB_LEDGER_ONLY", raising=False)
    # A profile puts its compute path in the environment (profiles.activate_compute_path): each test
    # starts on the default path, with no profile's path in force.
    monkeypatch.delenv("UNLEARNLIB_COMPUTE_PATH", raising=False)
    monkeypatch.setattr(profiles, "_ACTIVATED", None)
    # The command line writes --data-dir into the environment (for the kernels it starts): keep
    # the data directory this session began with, whatever a test's command line set.
    if "UNLEARNLIB_DATA_DIR" in os.environ:
        monkeypatch.setenv("UNLEARNLIB_DATA_DIR", os.environ["UNLEARNLIB_DATA_DIR"])
    else:  # set, then delete: monkeypatch then removes whatever a test's command line set
        monkeypatch.setenv("UNLEARNLIB_DATA_DIR", "")
        monkeypatch.delenv("UNLEARNLIB_DATA_DIR")
    torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def synthetic():
    return make_synthetic(n_samples=400, num_classes=3, image_size=16, in_chans=1, seed=0)


def needs_real(*names: str):
    """Skip unless the named datasets are in the data directory."""
    present = {
        "ham10000": (REAL_DATA / "ham10000" / "HAM10000_metadata.csv").exists(),
        "breastmnist": (REAL_DATA / "medmnist" / "breastmnist.npz").exists(),
    }
    missing = [n for n in names if not present[n]]
    return pytest.mark.skipif(bool(missing), reason=f"real data missing in {REAL_DATA}: {missing}")
