"""End-to-end time and peak memory of reproducing the study, cold and on a warm cache.

Runs ``python -m unlearnlib reproduce --profile P`` (every notebook) once, or twice with
``--warm`` (the second run finds every model and record cached). Peak memory is the
largest resident set of any process of the run (the notebook kernels), from
``getrusage(RUSAGE_CHILDREN)``.

    python benchmarks/end_to_end.py --profile smoke [--warm] [--output-dir /tmp/run]
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time


def run_once(profile: str, output_dir: str | None) -> float:
    command = [sys.executable, "-m", "unlearnlib", "reproduce", "--profile", profile]
    if output_dir:
        command += ["--output-dir", output_dir]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--warm", action="store_true", help="run a second time, on the warm cache")
    parser.add_argument("--output-dir", help="write executed notebooks and figures here (default: over the committed ones)")
    args = parser.parse_args()

    seconds = [run_once(args.profile, args.output_dir)]
    if args.warm:
        seconds.append(run_once(args.profile, args.output_dir))
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"profile {args.profile}: first run {seconds[0] / 60:.1f} min" + (f", warm rerun {seconds[1] / 60:.1f} min" if args.warm else ""))
    print(f"peak resident memory of one process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
