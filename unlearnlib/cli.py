"""The command line: ``python -m unlearnlib --help``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .paths import DATA_DIR_ENV


def _data_check(args: argparse.Namespace) -> int:
    from .data import check_datasets

    reports = check_datasets(args.data_dir)
    for report in reports:
        first_line, _, rest = report.detail.partition("\n")
        print(f"{report.dataset:12s} {report.status:8s} {first_line}")
        if report.status != "found" and args.verbose:
            print("\n".join("    " + line for line in rest.splitlines()))
    bad = [r for r in reports if r.status != "found"]
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


def _reproduce(args: argparse.Namespace) -> int:
    from .reproduce import reproduce

    reproduce(profile=args.profile, notebooks=args.notebook, data_dir=args.data_dir, output_dir=args.output_dir)
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
    check = data.add_parser("check", help="report each dataset as found / missing / corrupt (exit 1 if any is not found)")
    check.add_argument("-v", "--verbose", action="store_true", help="say how to get what is missing or corrupt")
    check.set_defaults(run=_data_check)
    download = data.add_parser("download", help="download a MedMNIST dataset (needs internet)")
    download.add_argument("dataset", help="a MedMNIST 2D flag, e.g. breastmnist")
    download.add_argument("--image-size", type=int, default=28, help="28 (default), 64, 128 or 224")
    download.set_defaults(run=_data_download)

    algorithms = commands.add_parser("algorithms", help="list the unlearning methods")
    algorithms.set_defaults(run=_algorithms)

    reproduce = commands.add_parser("reproduce", help="run every notebook in order with papermill")
    reproduce.add_argument("--profile", default="cpu", help="smoke, cpu (default) or gpu")
    reproduce.add_argument("--notebook", action="append", help="run only this notebook (repeatable), e.g. 02_main_benchmark")
    reproduce.add_argument("--output-dir", type=Path, default=None, help="write executed notebooks here instead of over the originals")
    reproduce.set_defaults(run=_reproduce)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Recorded in every executed notebook's provenance cell.
    os.environ.setdefault("UNLEARNLIB_COMMAND", " ".join(["python -m unlearnlib", *(sys.argv[1:] if argv is None else argv)]))
    if args.data_dir is not None:  # notebooks run in subprocesses: pass the setting on
        os.environ[DATA_DIR_ENV] = str(Path(args.data_dir).resolve())
    return args.run(args)
