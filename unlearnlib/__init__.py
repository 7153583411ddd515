"""unlearnlib: a reproducible study of machine unlearning for medical imaging.

The folders are layers: a module imports only from its own layer and the ones below it
(``tests/test_layers.py`` holds every import to this, lazy ones included).

Layers, bottom-up:
    core        the top-level modules (settings, paths, compute_path, training_rules, training,
                models, constraints, profiles, provenance: keys and version constants) and the
                registries data/, scenarios/, algorithms/
    results/    storage that knows no kind by name: ledger, model store
    evaluation/ metrics, attacks, forgetting quality, memorization, failures, statistics (LiRA's too)
    kinds/      each kind of ledger row (its spec and computation) and the registry of kinds
    execution/  grids, plan, distributed driver, verify, forget sets, validation, parameters,
                the ledger audit (it asks the registry of kinds)
    report/     the paper's claims and verdict rules, findings, plots, HTML, notebooks, reproduce
    top         cli.py, __main__.py
"""
import warnings

__version__ = "0.1.0"

# huggingface_hub (imported by timm) imports tqdm.auto, which in a Jupyter kernel without
# ipywidgets warns "IProgress not found" and falls back to the plain bar; the library's own
# bars are plain tqdm anyway, so the warning is noise in every executed notebook.
warnings.filterwarnings("ignore", message="IProgress not found")
