"""Run the study's notebooks in order with papermill, and record what made them."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .ledger import LEDGER_ONLY_ENV, MissingResultError
from .paths import FIGURES_DIR_ENV, figures_dir, project_root
from .profiles import get_profile


def notebook_paths(names: list[str] | None = None) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``) in order, or just the named ones."""
    folder = project_root() / "notebooks"
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return found
    chosen = []
    for name in names:
        matches = [p for p in found if p.stem == name or p.name == name or p.stem.startswith(f"{name}_")]
        if not matches:
            raise ValueError(f"no notebook {name!r} in {folder}; known: {', '.join(p.stem for p in found)}")
        chosen.extend(matches)
    return chosen


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
    if output_dir is not None:
        os.environ[FIGURES_DIR_ENV] = str(Path(output_dir).resolve() / "figures")
    written = []
    for path in notebook_paths(notebooks):
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
    from .html_report import build_report

    return build_report(executed, figures=figures_dir(), export_notebooks=export_notebooks)


def provenance() -> dict[str, str]:
    """What made a result: commit, command, library version, machine, time."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_root(), capture_output=True, text=True, check=True
        ).stdout.strip()
        # The notebooks and figures are this run's outputs: their changes do not make the code dirty.
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)notebooks", ":(exclude)figures", ":(exclude)data/ledger"],
            cwd=project_root(), capture_output=True, text=True,
        ).stdout.strip()
        commit += " (with uncommitted changes)" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown (not a git checkout)"
    return {
        "commit": commit,
        "command": os.environ.get("UNLEARNLIB_COMMAND", " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])),
        "unlearnlib": __version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "finished": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
