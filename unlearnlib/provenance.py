"""What made a result: keys of specs, code digests, the commit, the machine, the time.

Everything a ledger row or the report says about its own origin is made here:

- :func:`config_key` / :func:`key_of`: stable hashes of a spec (equal specs, equal keys);
- :func:`method_code_version`: the version a method declares beside its code, so that fixing
  one method invalidates that method's rows only;
- :func:`git_commit`: HEAD, marked when the code differs from it;
- :func:`machine_fingerprint`: what decides bitwise identity of a result;
- :func:`stamp`: the provenance columns of a row finished now.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .paths import device, project_root

# The columns every ledger row starts with (see :func:`stamp`).
PROVENANCE_COLUMNS = ("key", "profile", "code_version", "unlearnlib_version", "commit", "machine", "fingerprint", "finished_utc")
# Outputs of a run: their changes do not make the code uncommitted.
OUTPUT_PATHS = ("notebooks", "figures", "data/ledger")


# ----------------------------------------------------------------------------- versions

# Every version constant of a row kind, here and nowhere else (issue 31): a row made with another value
# is recomputed. Methods declare theirs beside their code (:func:`method_code_version`).

# Bump when shared code (data, splits, training, scenarios, the metrics of the committed rows) changes
# results: every row made with another value is recomputed. Method code is versioned per method
# (its declared version), a metric added since by its own version (metrics_tag).
PIPELINE_VERSION = "2"
# The forgetting-quality interval (fq_interval.relative_forgetting_quality), which no method digest covers:
# 2 = delete-d jackknife over half-samples (1 was a with-replacement bootstrap, biased upward).
FQ_INTERVAL_VERSION = "2"
# The tuning objective, which no method digest covers (kinds/tuning.py): 2 = a trial whose model fails on the
# validation split by the study's rule (failures.fails) ranks below the untouched original (the rows tagged "tu" rewarded collapse).
TUNING_VERSION = "2"
ORIGINAL_VERSION = "1"  # the same for what the originals' rows depend on (data, splits, training, metrics)
# The relearning attack's computation (kinds/relearn.py): every relearning row made with another value is recomputed.
RELEARN_VERSION = "1"
NOISE_FLOOR_VERSION = "1"  # bump when what a noise-floor row holds changes (kinds/noise_floor.py; no method version covers it)
# U-LiRA's computation (kinds/ulira.py): every U-LiRA row and side file made with another value is recomputed.
ULIRA_VERSION = "1"
# Offline LiRA's computation (kinds/offline_lira.py): every offline-LiRA row and side file made with another value is recomputed.
OFFLINE_LIRA_VERSION = "1"


# ----------------------------------------------------------------------------- keys


def key_of(*parts: object) -> str:
    """A short, stable hash of the given parts (their repr), for cache file names."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


# A dataclass may name, in a ``ClassVar`` of this name, fields added after its rows were committed:
# :func:`plain` leaves such a field out while it holds its default, so a spec at the default keeps
# the key (and the ``spec`` column) it had before the field existed, and a committed row stays
# current; any other value is written and keyed as every field is.
OMITTED_AT_DEFAULT = "OMITTED_AT_DEFAULT"


def _at_default(value: Any, field: dataclasses.Field) -> bool:
    if field.name not in getattr(type(value), OMITTED_AT_DEFAULT, ()):
        return False
    default = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
    return default is not dataclasses.MISSING and getattr(value, field.name) == default


def plain(value: Any) -> Any:
    """Dataclasses, tuples and paths as JSON-able plain data (for keys and metadata); a field
    the class lists in :data:`OMITTED_AT_DEFAULT` is left out while it holds its default."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__type__": type(value).__name__,
                **{f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not _at_default(value, f)}}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def config_key(config: Any) -> str:
    """A stable hash of a config: equal configs, equal keys. The spec classes' names and
    fields are part of it, so renaming one re-keys (and recomputes) its rows."""
    return key_of(json.dumps(plain(config), sort_keys=True))


# ----------------------------------------------------------------------------- code versions


def method_code_version(method: str) -> str:
    """The code version of ``method``'s rows: the version the method declares beside its code
    (``@register(..., version=...)`` in its module under ``unlearnlib/algorithms/``). Changing it
    recomputes that method's rows only. Declared, not a digest of the source as it was until
    issue 31: a digest made the layout of the code decide what was recomputed (a moved line
    re-keyed every row of the method); each method's version starts at the digest it replaced,
    so committed rows keep their code versions."""
    from .algorithms import get_method  # the algorithms import training and models: loaded only when asked

    return get_method(method).version


def _path_note(prefix: str) -> str:
    """``prefix`` + the compute path's label when the run is not on the default eager fp32
    path, else nothing: records of every committed result stay as they were."""
    from .training import EAGER_FP32, configured_path  # torch: loaded only when a row is versioned

    path = configured_path()
    return "" if path == EAGER_FP32 else prefix + path.label()


def compute_path_tag() -> str:
    """What a record's code version appends for a non-default compute path (``~channels_last+bf16``)."""
    return _path_note("~")


# ----------------------------------------------------------------------------- commit


def _read_commit() -> str:
    """HEAD, marked ``+uncommitted`` when any tracked file but the outputs differs from it."""
    try:
        root = project_root()
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        excluded = [f":(exclude){p}" for p in OUTPUT_PATHS]
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *excluded], cwd=root,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# Read once, when the library is imported: a long run keeps the commit of the code it loaded,
# even when the checkout moves on while it runs.
_COMMIT = _read_commit()


def git_commit() -> str:
    return _COMMIT


# ----------------------------------------------------------------------------- machine


@functools.lru_cache(maxsize=1)
def _processor() -> tuple[str, str]:
    """The processor model and the SIMD instruction sets that change float results."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "model name":
                model = value.strip()
            elif name.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    simd = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile") if f in flags]
    return model, "+".join(simd) or platform.machine()


def machine_fingerprint() -> dict[str, str]:
    """What decides bitwise identity of a result: processor, instruction set, threads,
    torch version and device. Same fingerprint, same code, same spec: same numbers."""
    import torch  # heavy: only when a row is stamped

    model, simd = _processor()
    described = f"{model} [{simd}], {torch.get_num_threads()} threads, torch {torch.__version__}, {device()}" + _path_note(", path ")
    return {"machine": described, "fingerprint": hashlib.sha256(described.encode()).hexdigest()[:12]}


# ----------------------------------------------------------------------------- stamps


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def stamp(key: str, profile: str, code_version: str) -> dict[str, str]:
    """The provenance columns of a row finished now. ``training_rules``: the training rules it
    was computed under (no code version covers ``training.py``; see ``training_rules.py``)."""
    from .training_rules import TRAINING_RULES

    return {"key": key, "profile": profile, "code_version": code_version, "unlearnlib_version": __version__,
            "commit": git_commit(), **machine_fingerprint(), "finished_utc": utc_now(), "load_average": load_average(),
            "training_rules": TRAINING_RULES}


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages when a row finished: a row's seconds
    are comparable with another's only on an equally loaded machine ("" where unknown)."""
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return ""
