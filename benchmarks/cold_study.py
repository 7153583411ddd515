"""What the cold study cost, by kind, from the seconds the committed ledger records (issue 20 item 5).

Reads the rows every notebook of the profile reads (``unlearnlib.execution.plan.spent``): originals,
retrains, tuning runs, method runs, forgetting-quality and memorization models, relearning
attacks. A row records one worker's seconds; core-seconds multiply them by the torch threads it
ran on, so the wall time of the whole study on ``--cores`` cores, every core kept busy (two
one-thread workers on 2 cores), is about core-seconds / cores. Rows still pending are listed
by the plan (``reproduce --plan``), not here.

    python benchmarks/cold_study.py --profile cpu [--cores 2] [--json benchmarks/results/cold_study_cpu.json]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from unlearnlib.execution.plan import KIND_LABELS, make_plan, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--cores", type=int, default=2, help="cores the study's workers shared (default 2)")
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args()

    plan = make_plan(args.profile)
    table = spent(plan)
    table["wall_minutes"] = table.core_seconds / args.cores / 60
    total = table[["rows", "trainings", "seconds", "core_seconds", "wall_minutes"]].sum()
    print(f"profile {args.profile}: rows the notebooks read, as computed ({len(plan.pending())} still pending)")
    print(f"{'kind':<26} {'rows':>5} {'trainings':>10} {'worker h':>9} {'wall min on ' + str(args.cores):>16}")
    for r in table.itertuples():
        print(f"{KIND_LABELS[r.kind]:<26} {r.rows:>5} {r.trainings:>10.1f} {r.seconds / 3600:>9.2f} {r.wall_minutes:>16.0f}")
    print(f"{'all':<26} {int(total.rows):>5} {total.trainings:>10.1f} {total.seconds / 3600:>9.2f} {total.wall_minutes:>16.0f}")
    if args.json:
        args.json.write_text(json.dumps({"profile": args.profile, "cores": args.cores, "pending_rows": len(plan.pending()),
                                         "by_kind": table.round(3).to_dict("records")}, indent=1) + "\n")


if __name__ == "__main__":
    main()
