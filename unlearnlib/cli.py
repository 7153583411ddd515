"""The command line: ``python -m unlearnlib --help``."""
from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
from numbers import Integral
from pathlib import Path

from .constraints import Interval, allowed, domain, satisfied
from .settings import DATA_DIR_ENV

DASK_WORKERS = domain(Interval(Integral, 1, None, closed="left"))  # 0 once ran without Dask, silently


def _check_option(option: str, value, constraints) -> None:
    """Refuse a command-line value outside its domain (ValueError: exit 2), naming both."""
    if value is not None and not satisfied(value, constraints):
        raise ValueError(f"{option} {value!r} is not allowed; {option} must be {allowed(constraints)}")


def _data_check(args: argparse.Namespace) -> int:
    from .data import check_datasets

    reports = check_datasets(args.data_dir, args.datasets or None)
    width = max([12] + [len(r.dataset) + 1 for r in reports])
    for report in reports:
        first_line, _, rest = report.detail.partition("\n")
        optional = "" if report.required else " (optional)"
        print(f"{report.dataset:{width}s} {report.status:8s} {first_line}{optional}")
        if report.status != "found" and args.verbose:
            print("\n".join("    " + line for line in rest.splitlines()))
    # An optional dataset that is only partly there (NIH metadata without images) is news,
    # not a failure: `make reproduce` must not stop for a dataset the study does not use.
    bad = [r for r in reports if r.status == "corrupt" or (r.required and r.status != "found")]
    if bad:
        print(f"\n{len(bad)} dataset(s) not usable; run with -v for how to get them.", file=sys.stderr)
    return 1 if bad else 0


def _data_download(args: argparse.Namespace) -> int:
    from .data import medmnist
    from .paths import data_dir

    if args.dataset not in medmnist.FLAGS_2D:
        print(f"automatic download covers the MedMNIST 2D datasets; for {args.dataset!r} see `data check -v`", file=sys.stderr)
        return 2
    path = medmnist.download(args.dataset, data_dir(args.data_dir), args.image_size)
    print(f"downloaded and verified {path}")
    return 0


def _algorithms(args: argparse.Namespace) -> int:
    from .algorithms import available, get_method

    for name in available():
        print(f"{name:16s} {get_method(name).summary}")
    return 0


def _parse_scenario(text: str) -> tuple[str, dict]:
    """'random:fraction=0.1' -> ('random', {'fraction': 0.1})."""
    import yaml

    from .execution.validation import GridError

    name, _, rest = text.partition(":")
    params = {}
    for part in filter(None, rest.split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise GridError([f"scenario parameter {part!r} in --scenario {text!r} needs the form key=value"])
        params[key] = yaml.safe_load(value)
    return name, params


def _grid_options(args: argparse.Namespace) -> dict:
    """Options from the config file (YAML), overridden by those given on the command line."""
    import yaml

    from .execution.validation import GridError

    options = {}
    if args.config:
        try:
            options = yaml.safe_load(Path(args.config).read_text())
        except (OSError, yaml.YAMLError) as error:
            raise GridError([f"cannot read the grid config {args.config}: {error}"]) from None
        options = {} if options is None else options
        if not isinstance(options, dict):
            raise GridError([f"the grid config {args.config} must be a mapping (profile: ..., datasets: [...]); got {options!r}"])
    for key in ("profile", "datasets", "methods", "seeds"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    if args.scenario:
        options["scenarios"] = [list(_parse_scenario(s)) for s in args.scenario]
    options.setdefault("profile", "cpu")
    options.setdefault("datasets", ["ham10000"])
    options.setdefault("methods", "all")
    options.setdefault("scenarios", [["random", {"fraction": 0.1}]])
    return options


def _run(args: argparse.Namespace) -> int:
    from .execution.validation import validate_grid

    _check_option("--dask-workers", args.dask_workers, DASK_WORKERS)
    options = _grid_options(args)
    validate_grid(options)  # every problem at once, before any data loads (GridError: exit 2)

    from .execution.grid import expand_grid, run_grid, save_table
    from .profiles import activate_compute_path, get_profile
    from .evaluation.metrics import RUN_SUMMARY_METRICS
    from .evaluation.stats import mean_sd, summarize

    profile = get_profile(options["profile"])
    activate_compute_path(profile)
    specs = expand_grid(profile, datasets=options["datasets"], scenarios=[tuple(s) for s in options["scenarios"]],
                        methods=options["methods"], seeds=options.get("seeds"), hyperparameters=options.get("hyperparameters"))
    print(f"{len(specs)} experiments (profile {profile.name}); cached ones are read back", flush=True)
    if args.dask_scheduler or args.dask_workers:
        from .execution.distributed import dask_client

        with dask_client(workers=args.dask_workers, scheduler=args.dask_scheduler) as client:
            table = run_grid(specs, client=client)
    else:
        table = run_grid(specs)
    if args.output:
        print(f"wrote {save_table(table, args.output)}")
    summary = summarize(table, by=["dataset", "scenario", "forget_size", "method"], metrics=RUN_SUMMARY_METRICS)
    print(mean_sd(summary, RUN_SUMMARY_METRICS).to_string(index=False))
    return 0


def _results(args: argparse.Namespace) -> int:
    from .execution.grid import save_table
    from .results.ledger import Ledger

    ledger = Ledger()
    table = ledger.table("experiments")
    if table.empty:
        print(f"no experiment rows in the ledger at {ledger.root}")
        return 0
    counts = table.groupby(["profile", "dataset", "scenario", "method"]).agg(runs=("seed", "size"), seeds=("seed", "nunique"),
                                                                             forget_acc=("forget_acc", "mean"), avg_gap=("avg_gap", "mean"))
    print(f"{len(table)} experiment rows in the ledger at {ledger.root}\n")
    print(counts.round(4).to_string())
    if args.export:
        print(f"\nwrote {save_table(table, args.export)}")
    return 0


def _ledger_repair(args: argparse.Namespace) -> int:
    from .results.ledger import KINDS, Ledger

    ledger = Ledger()
    for kind in args.kind or KINDS:
        dropped = ledger.repair(kind)
        print(f"{ledger.path(kind)}: " + (f"dropped {dropped} repeated row(s), kept the newest of each key" if dropped else "each key once"))
    return 0


def _ledger_prune(args: argparse.Namespace) -> int:
    from .execution.plan import prune

    counts = prune(args.profile, apply=args.apply)
    for kind, n in counts.items():
        print(f"{kind:20s} {n} row(s) of profile {args.profile} no notebook reads" + (" : dropped" if args.apply and n else ""))
    if not args.apply and any(counts.values()):
        print("nothing dropped: run again with --apply (git keeps what is dropped)")
    return 0


def _ledger_restale(args: argparse.Namespace) -> int:
    from .results.ledger import Ledger
    from .execution.ledger_audit import restale, stale_keys

    ledger = Ledger()
    stale = stale_keys(ledger)
    for kind, keys in stale.items():
        print(f"{kind:20s} {len(keys)} row(s) computed before the training rules that they change")
    if not stale:
        print("no row computed before the training rules is changed by them: nothing to recompute")
    elif args.apply:
        for kind, n in restale(ledger).items():
            print(f"{kind:20s} {n} row(s) dropped: `reproduce --plan` lists them to recompute")
    else:
        print("nothing dropped: run again with --apply (git keeps what is dropped)")
    return 0


def _ledger_forget_sets(args: argparse.Namespace) -> int:
    from .execution import forget_sets

    added = forget_sets.record(forget_sets.study_specs(args.profile))
    table = forget_sets.overlap_table(forget_sets.read())
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\n{added} forget set(s) added to {forget_sets.path()}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .execution.verify import verify

    report = verify(args.sample, seed=args.seed, profile=args.profile)
    shown = report.drop(columns=["key", "committed_machine"])
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    failed = report[~report.ok]
    print(f"\n{report.record.nunique()} record(s), {len(report)} comparisons: "
          + ("all agree" if failed.empty else f"{len(failed)} DISAGREE"))
    return 0 if failed.empty else 1


def _notebook_parameters(args: argparse.Namespace) -> dict:
    """``--parameters FILE`` and ``-p NAME=VALUE``, checked against the one notebook they are for."""
    if not args.parameter and args.parameters is None:
        return {}
    import yaml

    from .execution.parameters import checked, parse_assignments
    from .paths import notebook_paths
    from .execution.plan import notebook_parameters

    if not args.notebook or len(args.notebook) != 1:
        raise ValueError(f"-p and --parameters set one notebook's parameters: name it with --notebook (got {args.notebook or 'none'})")
    paths = notebook_paths(args.notebook)  # an unknown name fails here, naming the known ones
    given = {}
    if args.parameters is not None:
        try:
            given = yaml.safe_load(args.parameters.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ValueError(f"--parameters {args.parameters}: cannot read it as YAML ({error})") from None
        if not isinstance(given, dict):
            raise ValueError(f"--parameters {args.parameters} must hold NAME: VALUE lines; got {type(given).__name__}")
    given.update(parse_assignments(args.parameter))
    if "profile" in given:
        raise ValueError("the profile is --profile, not a -p parameter")
    return checked(notebook_parameters(paths[0]), given, paths[0].stem)


def _reproduce(args: argparse.Namespace) -> int:
    parameters = _notebook_parameters(args)
    if args.plan or (parameters and not args.from_ledger):
        from .execution.plan import make_plan

        print(make_plan(args.profile, args.notebook, parameters=parameters).render(), flush=True)  # the cost first
        if args.plan:
            return 0
    if args.dask_workers is not None or args.dask_scheduler:
        _check_option("--dask-workers", args.dask_workers, DASK_WORKERS)
        if args.from_ledger:
            raise ValueError("--from-ledger computes nothing, so --dask-workers / --dask-scheduler have nothing to run; drop one")
        from .report.reproduce import reproduce_on_dask

        reproduce_on_dask(profile=args.profile, notebooks=args.notebook, workers=args.dask_workers, scheduler=args.dask_scheduler,
                          data_dir=args.data_dir, output_dir=args.output_dir, parameters=parameters)
        return 0
    from .report.reproduce import reproduce

    reproduce(profile=args.profile, notebooks=args.notebook, data_dir=args.data_dir, output_dir=args.output_dir,
              from_ledger=args.from_ledger, parameters=parameters)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m unlearnlib", description="Machine unlearning for medical imaging: the study's command line.")
    parser.add_argument(
        "--data-dir",
        default=None,
        help=f"where the datasets are (default: ${DATA_DIR_ENV}, else ./data)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="check or download datasets").add_subparsers(dest="data_command", required=True)
    check = data.add_parser(
        "check",
        help="report each dataset as found / missing / corrupt (exit 1 if a required one is not found or any is corrupt)",
    )
    check.add_argument(
        "datasets", nargs="*", metavar="DATASET",
        help="datasets to check, all required (default: ham10000 and breastmnist, plus, as optional, any other whose folder or file is there)",
    )
    check.add_argument("-v", "--verbose", action="store_true", help="say how to get what is missing or corrupt")
    check.set_defaults(run=_data_check)
    download = data.add_parser("download", help="download a MedMNIST dataset (needs internet)")
    download.add_argument("dataset", help="a MedMNIST 2D flag, e.g. breastmnist")
    download.add_argument("--image-size", type=int, default=28, help="28 (default), 64, 128 or 224")
    download.set_defaults(run=_data_download)

    algorithms = commands.add_parser("algorithms", help="list the unlearning methods")
    algorithms.set_defaults(run=_algorithms)

    run = commands.add_parser("run", help="run a grid of experiments (cached, resumable) and print a summary")
    run.add_argument("--config", help="YAML file with profile, datasets, scenarios, methods, seeds, hyperparameters")
    run.add_argument("--profile", help="smoke, cpu (default) or gpu")
    run.add_argument("--dataset", dest="datasets", action="append", help="a dataset (repeatable); default ham10000")
    run.add_argument("--scenario", action="append",
                     help="NAME:key=value,... (repeatable), e.g. random:fraction=0.1, patient:fraction=0.05, sex:sex=female,size=300")
    run.add_argument("--method", dest="methods", action="append", help="a method (repeatable); default: all")
    run.add_argument("--seeds", type=int, nargs="+", help="seeds; default: the profile's")
    run.add_argument("--output", type=Path, help="write the results table here (parquet)")
    run.add_argument("--dask-scheduler", help="run on this Dask scheduler (address); the cache must be shared")
    run.add_argument("--dask-workers", type=int, help="run on a local Dask cluster of this many workers (at least 1)")
    run.set_defaults(run=_run)

    results = commands.add_parser("results", help="summarise the experiment rows in the ledger")
    results.add_argument("--export", type=Path, help="write every experiment row to this parquet file")
    results.set_defaults(run=_results)

    reproduce = commands.add_parser("reproduce", help="run every notebook in order with papermill")
    reproduce.add_argument("--profile", default="cpu", help="smoke, cpu (default) or gpu")
    reproduce.add_argument("--notebook", action="append", help="run only this notebook (repeatable), e.g. 02_main_benchmark")
    reproduce.add_argument("--output-dir", type=Path, default=None, help="write executed notebooks here instead of over the originals")
    reproduce.add_argument("--from-ledger", action="store_true",
                           help="train nothing: render every notebook from the ledger (make figures); fails naming missing rows")
    reproduce.add_argument("--plan", action="store_true",
                           help="compute nothing: list what the ledger lacks per notebook and kind, with the estimated cost, and exit")
    reproduce.add_argument("--dask-workers", type=int,
                           help="compute every pending row on a local Dask cluster of this many worker processes (one thread each), "
                                "then render the notebooks from the ledger")
    reproduce.add_argument("--dask-scheduler",
                           help="as --dask-workers, on the Dask scheduler at this address (workers share the package, data and cache)")
    reproduce.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                           help="run the one --notebook with this parameter instead of its default (repeatable), e.g. -p seeds=0,1,2; "
                                "the plan shows its cost first, outputs go to reruns/ (or --output-dir), never over the committed ones")
    reproduce.add_argument("--parameters", type=Path, default=None, metavar="FILE.yaml",
                           help="the same as a YAML file of NAME: VALUE lines (-p wins over it)")
    reproduce.set_defaults(run=_reproduce)

    ledger = commands.add_parser("ledger", help="look after the results ledger").add_subparsers(dest="ledger_command", required=True)
    repair = ledger.add_parser("repair", help="keep one row per key (the newest), as after a merge that appended a row twice")
    repair.add_argument("--kind", action="append", help="only this kind of rows (repeatable), e.g. experiments")
    repair.set_defaults(run=_ledger_repair)

    prune = ledger.add_parser("prune", help="list (or, with --apply, drop) a profile's rows that no notebook reads any more: "
                                            "a rerun's predecessors of another code version, recipe or compute path")
    prune.add_argument("--profile", default="cpu", help="smoke, cpu (default) or gpu")
    prune.add_argument("--apply", action="store_true", help="drop them (default: only count them)")
    prune.set_defaults(run=_ledger_prune)

    restale_cmd = ledger.add_parser("restale", help="list (or, with --apply, drop) the rows computed before the training rules "
                                    "(training.py: no short batch, an original that fits) that those rules change (issue 32)")
    restale_cmd.add_argument("--apply", action="store_true", help="drop them, so that reproduce recomputes them (default: only count them)")
    restale_cmd.set_defaults(run=_ledger_restale)

    sets = ledger.add_parser("forget-sets", help="add to data/ledger/forget_sets.csv the image indices of every forget set the "
                                                 "profile's notebooks read that it lacks, and print how often seeds draw the same images")
    sets.add_argument("--profile", default="cpu", help="smoke, cpu (default) or gpu")
    sets.set_defaults(run=_ledger_forget_sets)

    check = commands.add_parser("verify", help="recompute K random ledger rows from scratch and compare them with the committed ones")
    check.add_argument("--sample", type=int, default=2, help="how many rows (default 2)")
    check.add_argument("--seed", type=int, default=0, help="which rows: the seed of the random choice (default 0)")
    check.add_argument("--profile", default="cpu", help="the profile whose rows to verify, on its compute path: smoke, cpu (default) or gpu")
    check.set_defaults(run=_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.data_dir is not None:  # notebooks run in subprocesses: pass the setting on
        os.environ[DATA_DIR_ENV] = str(Path(args.data_dir).resolve())
    from .algorithms import UnknownMethodError
    from .data import DatasetError
    from .results.ledger import MissingResultError

    try:
        return args.run(args)
    except MissingResultError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except (DatasetError, UnknownMethodError, ValueError) as error:  # the user's to fix: no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        print(f"error: no space left on the disk that holds {error.filename or 'the ledger or the model cache'} "
              f"({shutil.disk_usage(Path.cwd()).free // 2**20} MiB free here); free some space and rerun: the ledger is "
              "written atomically, so every row finished before is kept and the rerun resumes from it", file=sys.stderr)
        return 2
