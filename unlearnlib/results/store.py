"""Trained models cached on disk by their full config, written atomically, loaded safely.

A model file holds its state dict plus plain-data metadata (the config it was made
from, its training history), and is read back with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..paths import atomic_write_bytes, cache_dir
from ..provenance import config_key, plain
from ..training_rules import TRAINING_RULES


class ModelStore:
    """Models under ``<cache>/models/<kind>/<key>.pt``."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else cache_dir() / "models"

    def path(self, kind: str, config: Any) -> Path:
        # The training rules are part of the name: a model cached before a rule changed how it
        # trains (issue 32's short batches) is never loaded as if trained under it.
        return self.root / kind / f"{config_key({'training_rules': TRAINING_RULES, 'config': config})}.pt"

    def metadata(self, kind: str, config: Any) -> dict[str, Any] | None:
        """The stored metadata of a cached model (no weights), or None if absent."""
        path = self.path(kind, config)
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, EOFError, OSError, KeyError, ValueError, pickle.UnpicklingError):
            return None
        payload.pop("state_dict", None)
        return {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in payload.items()}

    def save(self, kind: str, config: Any, model: nn.Module, **metadata: Any) -> Path:
        path = self.path(kind, config)
        buffer = io.BytesIO()
        # numpy arrays travel as tensors: weights-only loading accepts nothing else
        arrays = {k: torch.from_numpy(v) for k, v in metadata.items() if isinstance(v, np.ndarray)}
        torch.save({"state_dict": model.state_dict(), "config": plain(config), **metadata, **arrays}, buffer)
        atomic_write_bytes(path, buffer.getvalue())
        return path

    def load(self, kind: str, config: Any, model: nn.Module) -> dict[str, Any] | None:
        """Fill ``model`` from the cache and return the stored metadata, or None if absent.

        A file that cannot be read (truncated, foreign) counts as absent, so it is rebuilt."""
        path = self.path(kind, config)
        if not path.exists():
            return None
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(payload.pop("state_dict"))
        except (RuntimeError, EOFError, OSError, KeyError, ValueError, pickle.UnpicklingError):
            return None
        return {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in payload.items()}
