"""Run the study's notebooks in order with papermill, and leave outputs that depend on the
results only: an executed notebook keeps no times, durations, random ids, paths or kernel
versions (:func:`make_stable`), so rendering unchanged results again writes the same bytes."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..execution import forget_sets
from . import paper, readme_findings
from .html_report import build_report
from ..results.ledger import MissingResultError
from ..paths import figures_dir, notebook_paths, project_root
from ..profiles import activate_compute_path, get_profile
from ..settings import FIGURES_DIR_ENV, LEDGER_ONLY_ENV


def reproduce(
    *, profile: str = "cpu", notebooks: list[str] | None = None, data_dir: str | None = None, output_dir: Path | None = None,
    from_ledger: bool = False, parameters: dict | None = None,
) -> list[Path]:
    """Execute each notebook with ``profile`` (and ``parameters``, over its defaults) as its
    parameters; return the executed paths.

    ``parameters`` (``reproduce -p NAME=VALUE``, checked by the command line) are
    for one notebook; its outputs then go to ``output_dir`` (default :func:`own_output_dir`),
    never over the committed ones.

    With ``output_dir``, the executed notebooks go there and their figures and tables to
    ``output_dir/figures``, leaving the committed ones alone. With ``from_ledger``
    (``make figures``) nothing is trained: every result is read from the ledger, a missing
    one fails the run naming it, and the committed notebooks and figures are replaced only
    when every notebook succeeded."""
    import papermill

    activate_compute_path(get_profile(profile))  # fails early on an unknown profile; the kernels inherit the path
    if parameters:
        output_dir = own_output_dir(notebooks, parameters, output_dir)
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
                str(path), str(target), parameters={"profile": profile, **(parameters or {})}, cwd=str(root), kernel_name="python3",
                progress_bar=False,
                kernel_manager_class=ipc_kernel_manager(),
            )
        except papermill.PapermillExecutionError as error:
            if error.ename == "MissingResultError":
                given = "".join(f" -p {name}={_text(value)}" for name, value in (parameters or {}).items())
                raise MissingResultError(f"{path.name}: {error.evalue.split('; compute it with')[0]}; compute what it lacks with "
                                         f"`python -m unlearnlib reproduce --profile {profile} --notebook {path.stem}{given}` "
                                         f"(without --from-ledger; add --plan first to see its cost)") from None
            raise
        make_stable(target)
        written.append(target)
    if not from_ledger:
        record_forget_sets(profile, notebooks, parameters)
    if notebooks is None:
        print(f"[reproduce] report: {write_html_report(written)}", flush=True)
    return written


RERUNS = "reruns"  # under the project root, git-ignored: reruns with other parameters


def own_output_dir(notebooks: list[str] | None, parameters: dict, output_dir: Path | None) -> Path:
    """Where a rerun with ``parameters`` writes: ``output_dir``, else ``reruns/<notebook>-<key>``;
    never the committed notebooks/ or figures/ (their outputs come from the defaults)."""
    from ..provenance import key_of

    if not notebooks or len(notebooks) != 1:
        raise ValueError(f"parameters ({', '.join(parameters)}) are one notebook's: name it with --notebook "
                         f"(got {notebooks or 'every notebook'})")
    root = project_root()
    if output_dir is None:
        return root / RERUNS / f"{notebooks[0]}-{key_of(sorted(parameters.items()))[:8]}"
    resolved = Path(output_dir).resolve()
    for committed in (root / "notebooks", root / "figures"):
        if resolved == committed or committed in resolved.parents:
            raise ValueError(f"--output-dir {output_dir} is not allowed with -p: {committed} holds the committed outputs of the "
                             "default parameters; choose another folder (default: reruns/)")
    return resolved


def _text(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def ipc_kernel_manager():
    """A kernel manager whose kernels talk over IPC (socket files) rather than TCP: over TCP,
    ipykernel warns once per notebook that code and outputs travel unencrypted, which a reader
    takes for a security problem; on one machine IPC gives that warning no cause."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

    return IPCKernelManager


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


# A fixed kernel description: the Python version of the machine that rendered is no property of the results.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py", "mimetype": "text/x-python",
                 "name": "python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3"}
INJECTED_CELL_ID = "injected-parameters"  # papermill gives the cell it inserts a random id


def make_stable(path: Path) -> None:
    """Rewrite an executed notebook without what varies from run to run: papermill's times,
    durations and paths, per-cell execution timestamps, the injected cell's random id, the
    kernel's version; stdout and stderr, which reach the notebook interleaved at random, are
    merged into one stdout then one stderr output per run of consecutive stream outputs."""
    import nbformat

    notebook = nbformat.read(str(path), as_version=4)
    parameters = notebook.metadata.get("papermill", {}).get("parameters", {})
    notebook.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO,
                                            "papermill": {"parameters": parameters}})
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if INJECTED_CELL_ID in cell.metadata.get("tags", []):
            cell.id = INJECTED_CELL_ID
        if cell.cell_type == "code":
            cell.outputs = _merged_streams(cell.outputs)
    path.write_text(nbformat.writes(notebook), encoding="utf-8")


def _merged_streams(outputs: list) -> list:
    import nbformat

    merged, run = [], []

    def flush():
        for name in ("stdout", "stderr"):
            text = "".join(o.text for o in run if o.name == name)
            if text:
                merged.append(nbformat.v4.new_output("stream", name=name, text=text))
        run.clear()

    for output in outputs:
        if output.output_type == "stream":
            run.append(output)
        else:
            flush()
            merged.append(output)
    flush()
    return merged


def record_forget_sets(profile: str, notebooks: list[str] | None, parameters: dict | None) -> None:
    """Commit-ready image indices of every forget set the notebooks read (``unlearnlib.execution.forget_sets``)."""
    added = forget_sets.record(forget_sets.study_specs(profile, notebooks, parameters))
    print(f"[reproduce] forget sets: {added} added to {forget_sets.path()}", flush=True)


def write_html_report(executed: list[Path], *, export_notebooks: bool = True) -> Path:
    """``figures/report.html`` for the executed notebooks, with their HTML exports
    (see ``unlearnlib.report.html_report``; ``render_report()`` rebuilds it without executing)."""
    paper.write_verdicts(figures_dir())  # every notebook's verdicts in one table, which the report and README read
    forget_sets.write_overlap()  # how often seeds draw the same images, from the committed forget sets
    report = build_report(executed, figures=figures_dir(), export_notebooks=export_notebooks)
    if figures_dir() == project_root() / "figures":  # the committed outputs: the README's findings follow them
        readme_findings.rewrite_readme(project_root() / "README.md", figures_dir(), executed)
    return report


def reproduce_on_dask(*, profile: str, notebooks: list[str] | None = None, workers: int | None = None, scheduler: str | None = None,
                      client=None, **render: Any) -> list[Path]:
    """``reproduce`` on Dask: compute every pending row on the cluster, print the run's utilization
    in one line, then render the notebooks from the ledger (``--from-ledger``: a row the plan
    missed fails the render, naming it)."""
    from ..execution.distributed import compute_pending, dask_client

    parameters = render.get("parameters")
    if client is not None:
        computed = compute_pending(profile, notebooks, client=client, parameters=parameters)
    else:
        with dask_client(workers=workers, scheduler=scheduler) as own:
            computed = compute_pending(profile, notebooks, client=own, parameters=parameters)
    print(f"[reproduce] {computed.appended} row(s) computed; {computed.utilization.line()}", flush=True)
    record_forget_sets(profile, notebooks, parameters)
    return reproduce(profile=profile, notebooks=notebooks, from_ledger=True, **render)
