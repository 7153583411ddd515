"""Run the study's notebooks in order with papermill, and record what made them."""
from __future__ import annotations

import os
from pathlib import Path

from .html_report import build_report
from .ledger import MissingResultError
from .paths import figures_dir, notebook_paths, project_root
from .profiles import get_profile
from .provenance import run_provenance as provenance  # noqa: F401  (the notebooks' provenance cell)
from .settings import FIGURES_DIR_ENV, LEDGER_ONLY_ENV


def reproduce(
    *, profile: str = "cpu", notebooks: list[str] | None = None, data_dir: str | None = None, output_dir: Path | None = None,
    from_ledger: bool = False,
) -> list[Path]:
    """Execute each notebook with ``profile`` as its parameter; return the executed paths.

    With ``output_dir``, the executed notebooks go there and their figures and tables to
    ``output_dir/figures``, leaving the committed ones alone. With ``from_ledger``
    (``make figures``) nothing is trained: every result is read from the ledger, a missing
    one fails the run naming it, and the committed notebooks and figures are replaced only
    when every notebook succeeded."""
    import papermill

    get_profile(profile)  # fail early on an unknown profile
    if from_ledger:
        os.environ[LEDGER_ONLY_ENV] = "1"
        if output_dir is None:
            return _render_then_replace(profile, notebooks, data_dir)
    root = project_root()
    paths = study_notebooks(notebooks)
    if output_dir is not None:
        os.environ[FIGURES_DIR_ENV] = str(Path(output_dir).resolve() / "figures")
    written = []
    for path in paths:
        target = (output_dir / path.name) if output_dir else path
        target.parent.mkdir(parents=True, exist_ok=True)
        print(f"[reproduce] {path.name} (profile {profile}) -> {target}", flush=True)
        try:
            papermill.execute_notebook(
                str(path), str(target), parameters={"profile": profile}, cwd=str(root), kernel_name="python3", progress_bar=False
            )
        except papermill.PapermillExecutionError as error:
            if error.ename == "MissingResultError":
                raise MissingResultError(f"{path.name}: {error.evalue}") from None
            raise
        written.append(target)
    if notebooks is None:
        print(f"[reproduce] report: {write_html_report(written)}", flush=True)
    return written


class NoNotebooksError(ValueError):
    """No study notebook where ``reproduce`` looked (e.g. it was started outside the repository)."""


def study_notebooks(names: list[str] | None = None) -> list[Path]:
    """The notebooks to execute; an empty selection is an error, not a run that does nothing."""
    paths = notebook_paths(names)
    if not paths:
        folder = project_root() / "notebooks"
        raise NoNotebooksError(
            f"no study notebook (NN_name.ipynb) in {folder}; run from the repository, the folder that holds "
            "pyproject.toml and notebooks/ (or a folder below it)"
        )
    return paths


def _render_then_replace(profile: str, notebooks: list[str] | None, data_dir: str | None) -> list[Path]:
    """Render into a scratch folder; copy notebooks, figures and tables into place only if all succeeded."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="unlearnlib-figures-") as scratch:
        rendered = reproduce(profile=profile, notebooks=notebooks, data_dir=data_dir, output_dir=Path(scratch), from_ledger=True)
        os.environ.pop(FIGURES_DIR_ENV, None)
        for path in rendered:
            shutil.copyfile(path, project_root() / "notebooks" / path.name)
        for item in (Path(scratch) / "figures").iterdir():
            if item.is_file() and item.name != "report.html":
                shutil.copyfile(item, figures_dir() / item.name)
    written = [project_root() / "notebooks" / p.name for p in rendered]
    if notebooks is None:
        print(f"[reproduce] report: {write_html_report(written)}", flush=True)
    return written


def write_html_report(executed: list[Path], *, export_notebooks: bool = True) -> Path:
    """``figures/report.html`` for the executed notebooks, with their HTML exports
    (see ``unlearnlib.html_report``; ``render_report()`` rebuilds it without executing)."""
    return build_report(executed, figures=figures_dir(), export_notebooks=export_notebooks)
