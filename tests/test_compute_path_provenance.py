"""A record made on a non-default compute path says so in its code version and fingerprint;
on the default path (every committed result) nothing changes."""
from __future__ import annotations

import pytest

from unlearnlib import training
from unlearnlib.profiles import get_profile
from unlearnlib.provenance import machine_fingerprint
from unlearnlib.kinds.specs import ExperimentSpec, OriginalSpec, TuningSpec
from unlearnlib.training import EAGER_FP32, ComputePath, configured_path, current_path, use_path


def _specs():
    original = OriginalSpec.from_profile(get_profile("cpu"), "ham10000", 0)
    experiment = ExperimentSpec.build(original, "random", "salun", fraction=0.1)
    return original, experiment, TuningSpec(experiment, "retrain", 20)


def test_the_default_path_leaves_code_versions_and_fingerprints_as_they_were(monkeypatch):
    monkeypatch.delenv("UNLEARNLIB_COMPUTE_PATH", raising=False)
    assert configured_path() == EAGER_FP32 == current_path()
    versions = [spec.code_version() for spec in _specs()]
    assert versions[0] == "o1" and all("~" not in v for v in versions)
    assert "path" not in machine_fingerprint()["machine"]
    monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", "eager-fp32")
    assert [spec.code_version() for spec in _specs()] == versions


def test_a_non_default_path_enters_every_code_version_and_the_fingerprint(monkeypatch):
    monkeypatch.delenv("UNLEARNLIB_COMPUTE_PATH", raising=False)
    default = ([spec.code_version() for spec in _specs()], machine_fingerprint())
    monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", "channels_last")
    assert configured_path() == ComputePath(channels_last=True) == current_path()
    versions = [spec.code_version() for spec in _specs()]
    assert versions == [v + "~channels_last" for v in default[0]]
    fingerprint = machine_fingerprint()
    assert fingerprint["machine"].endswith(", path channels_last") and fingerprint["fingerprint"] != default[1]["fingerprint"]


def test_use_path_overrides_the_configured_one_and_a_bad_label_is_refused(monkeypatch):
    monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", "channels_last")
    with use_path(EAGER_FP32):
        assert current_path() == EAGER_FP32
    assert current_path() == ComputePath(channels_last=True)
    monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", "fp8")
    with pytest.raises(ValueError, match="fp8"):
        configured_path()
    monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", "auto")
    assert configured_path() == training.choose_path(training.device())


def test_a_profile_declares_its_path_and_an_explicit_setting_wins(monkeypatch):
    from unlearnlib import profiles
    from unlearnlib.profiles import activate_compute_path

    monkeypatch.delenv("UNLEARNLIB_COMPUTE_PATH", raising=False)
    monkeypatch.setattr(profiles, "_ACTIVATED", None)
    monkeypatch.setattr(profiles, "native_bf16", lambda device: True)
    fp32_versions = [spec.code_version() for spec in _specs()]
    assert activate_compute_path(get_profile("cpu")) == ComputePath(channels_last=True, bf16=True) == configured_path()
    # the cpu profile's records (and the committed ledger's keys) carry its path, read back on any machine
    assert [spec.code_version() for spec in _specs()] == [v + "~channels_last+bf16" for v in fp32_versions]
    assert activate_compute_path(get_profile("smoke")) == EAGER_FP32  # switching profiles switches paths
    monkeypatch.setattr(profiles, "_ACTIVATED", None)  # a new process...
    monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", "eager-fp32")  # ...started with the user's choice
    assert activate_compute_path(get_profile("cpu")) == EAGER_FP32
    assert [spec.code_version() for spec in _specs()] == fp32_versions


def test_emulated_bf16_is_announced_and_a_bad_path_names_the_allowed_ones(monkeypatch):
    from unlearnlib import profiles
    from unlearnlib.profiles import activate_compute_path

    monkeypatch.delenv("UNLEARNLIB_COMPUTE_PATH", raising=False)
    monkeypatch.setattr(profiles, "_ACTIVATED", None)
    monkeypatch.setattr(profiles, "native_bf16", lambda device: False)
    with pytest.warns(UserWarning, match="no native bf16"):
        activate_compute_path(get_profile("cpu"))
    monkeypatch.setenv("UNLEARNLIB_COMPUTE_PATH", "fp8")
    with pytest.raises(ValueError, match="channels_last, bf16, compile"):
        activate_compute_path(get_profile("cpu"))
