"""The Python half of ``scripts/slurm_single_node.sh`` (a real single-node SLURM run; not a test).

``drive``: ``reproduce`` of one notebook at the smoke profile through the project's SLURM path,
``grid.slurm_client`` (dask-jobqueue's SLURMCluster: two one-CPU worker jobs, kept at two by
``minimum_jobs``) then ``reproduce.reproduce_on_dask``. Once at least one row is in the ledger
and while a worker is computing a task, it cancels that worker's job with ``scancel`` (its job id
checked in ``squeue -h -o %i``), then measures how long until a replacement job is queued and its
worker joins. At the end it checks that every key is in the ledger once and that the driver
appended each key once (a task that died with its worker is rerun, but its row is written once).
Run it with ``UNLEARNLIB_LEDGER_DIR`` and ``UNLEARNLIB_CACHE_DIR`` set to scratch folders,
``OMP_NUM_THREADS=1`` and ``SLURM_CONF`` pointing at the cluster.

``compare SERIAL SLURM``: the two ledgers' rows, kind by kind, as the CSV text the ledger holds
(so "identical" means the same digits, not merely close floats):

- the same keys in both, each once;
- every column equal, except those that record when and how fast a row was computed, not what
  it computed: ``finished_utc``, ``load_average``, ``commit`` (the checkout may be committed
  between the two runs), every ``*seconds*`` column and the ratios of times ``rte`` and
  ``cost_in_retrains``; in ``trials`` (a tuning run's trials as JSON) each trial's ``seconds``.
  ``machine`` and ``fingerprint`` ARE compared: they name the thread count, and the serial
  run and the workers must compute at the same count (1) for their sums to agree bit for bit.

It prints PASS or FAIL with the rows and columns compared, and exits 1 on any difference.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

IGNORED = ("finished_utc", "load_average", "commit", "rte", "cost_in_retrains")  # plus every column named *seconds*


# ----------------------------------------------------------------------------- drive


def squeue_ids() -> list[str]:
    return subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, check=True).stdout.split()


def ledger_rows(folder: Path) -> int:
    """Rows in the ledger's CSV files (read as text: the driver may be replacing a file meanwhile)."""
    total = 0
    for path in folder.glob("*.csv"):
        try:
            total += len(pd.read_csv(path, dtype=str))
        except (FileNotFoundError, pd.errors.EmptyDataError):
            pass
    return total


def cancel_one_worker(client, cluster, ledger_dir: Path, record: dict, done: threading.Event) -> None:
    """Wait for a row in the ledger and a worker computing a task; scancel that worker's job; time its replacement."""
    while True:
        if done.is_set():
            record["cancel"] = "the run finished before a worker could be cancelled"
            return
        rows = ledger_rows(ledger_dir)
        busy = {address: list(keys) for address, keys in client.processing().items() if keys}
        if rows >= 1 and busy:
            break
        time.sleep(0.2)
    workers = client.scheduler_info()["workers"]
    address = next(iter(busy))
    name = workers[address]["name"]
    jobs = {str(job_name): job.job_id for job_name, job in cluster.workers.items()}
    job_id = jobs[str(name)]
    before = squeue_ids()
    assert job_id in before, f"job {job_id} of worker {name} is not in squeue ({before})"
    subprocess.run(["scancel", job_id], check=True)
    cancelled = time.monotonic()
    record.update(cancelled_job=job_id, cancelled_worker=str(name), its_tasks=[str(k) for k in busy[address]],
                  rows_when_cancelled=rows, jobs_when_cancelled=before, cancelled_at=cancelled)
    print(f"[drive] scancel {job_id} (worker {name}, computing {busy[address]}) with {rows} row(s) in the ledger", flush=True)
    known_workers = set(workers)
    while time.monotonic() - cancelled < 600:
        if "replacement_job" not in record:
            new = [j for j in squeue_ids() if j not in before]
            if new:
                record.update(replacement_job=new[0], queued_after_s=round(time.monotonic() - cancelled, 1))
                print(f"[drive] replacement job {new[0]} queued {record['queued_after_s']} s after the scancel", flush=True)
        joined = set(client.scheduler_info()["workers"]) - known_workers
        if joined:
            record.update(replacement_worker=sorted(joined)[0], joined_after_s=round(time.monotonic() - cancelled, 1))
            print(f"[drive] its worker joined {record['joined_after_s']} s after the scancel", flush=True)
            return
        time.sleep(0.2)


def watch(client, cluster, ledger_dir: Path, record: dict, done: threading.Event) -> None:
    """:func:`cancel_one_worker`, silent once the run is over (a failed run closes the client under it)."""
    try:
        cancel_one_worker(client, cluster, ledger_dir, record, done)
    except Exception as error:  # noqa: BLE001
        if not done.is_set():
            record["cancel"] = f"cancelling a worker job failed: {error!r}"
            print(f"[drive] {record['cancel']}", flush=True)


def drive(args) -> int:
    import torch
    from dask.distributed import get_task_stream

    from unlearnlib.execution import distributed
    from unlearnlib.report import reproduce
    from unlearnlib.execution.grid import slurm_client
    from unlearnlib.settings import LEDGER_DIR_ENV, read

    work = Path(args.work)
    ledger_dir = Path(read(LEDGER_DIR_ENV))
    if torch.get_num_threads() != 1:
        print(f"[drive] torch runs {torch.get_num_threads()} threads; set OMP_NUM_THREADS=1 (the serial run's count)", flush=True)
        return 2

    appended: list[int] = []  # how many keys each call of the driver's one writer appended
    append_new = distributed.append_new

    def counting(ledger, rows):
        appended.append(append_new(ledger, rows))
        return appended[-1]

    distributed.append_new = counting

    start = time.monotonic()
    # Two worker jobs of one CPU and one thread each; adapt(minimum_jobs=2) resubmits a lost one.
    # No job_extra_directives are needed on this cluster; the worker jobs' logs go to dask-logs.
    client = slurm_client(jobs=2, minimum_jobs=2, cores=1, job_cpu=1, memory="3GB", walltime="00:30:00",
                          log_directory=str(work / "dask-logs"))
    cluster = client.cluster
    print(f"[drive] job script:\n{cluster.job_script()}", flush=True)
    client.wait_for_workers(2, timeout=300)
    ready = time.monotonic() - start
    print(f"[drive] 2 workers joined {ready:.1f} s after the cluster was asked for them (jobs {squeue_ids()})", flush=True)

    record: dict = {}
    done = threading.Event()
    watcher = threading.Thread(target=watch, args=(client, cluster, ledger_dir, record, done), daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        with get_task_stream(client) as stream:
            rendered = reproduce.reproduce_on_dask(profile="smoke", client=client, notebooks=[args.notebook],
                                                     output_dir=work / "slurm" / "rendered")
            computed = time.monotonic() - started
            done.set()
            watcher.join(timeout=600)  # the replacement may join after the last row
        tasks = stream.data
    finally:
        done.set()
        client.close()
        cluster.close()  # cancels the worker jobs

    # Every key once in the ledger, and appended once by the driver.
    problems = []
    rows = 0
    for path in sorted(ledger_dir.glob("*.csv")):
        table = pd.read_csv(path, dtype=str)
        rows += len(table)
        repeated = table["key"][table["key"].duplicated()].tolist()
        if repeated:
            problems.append(f"{path.name}: key(s) {repeated} more than once")
    if sum(appended) != rows:
        problems.append(f"the driver appended {sum(appended)} keys for {rows} rows")
    by_worker: dict[str, int] = {}
    for task in tasks:
        by_worker[task["worker"]] = by_worker.get(task["worker"], 0) + 1

    lines = [f"2 worker jobs ready {ready:.1f} s after asking; reproduce (compute and render) {computed:.0f} s; "
             f"{rows} rows, each key appended once: {sum(appended) == rows}",
             f"tasks finished by worker: {by_worker}"]
    if "cancelled_job" in record:
        lines.append(f"cancelled job {record['cancelled_job']} (worker {record['cancelled_worker']}) with "
                     f"{record['rows_when_cancelled']} row(s) in the ledger while it computed {record['its_tasks']}")
        if "joined_after_s" in record:
            lines.append(f"replacement job {record.get('replacement_job')} queued {record.get('queued_after_s')} s and its worker "
                         f"joined {record['joined_after_s']} s after the scancel; it finished "
                         f"{by_worker.get(record['replacement_worker'], 0)} task(s)")
        else:
            problems.append("no replacement worker joined within 600 s of the scancel")
        rerun = [t for t in tasks if str(t["key"]) in record["its_tasks"]]
        lines.append(f"the cancelled worker's task finished {len(rerun)} time(s), on {[t['worker'] for t in rerun]}")
    else:
        problems.append(record.get("cancel", "no worker job was cancelled"))
    lines += [f"PROBLEM: {p}" for p in problems]
    (work / "drive-summary.txt").write_text("\n".join(lines) + "\n")
    record.pop("cancelled_at", None)
    (work / "drive.json").write_text(json.dumps({"ready_s": ready, "reproduce_s": computed, "rows": rows, "appended": appended,
                                                  "tasks_by_worker": by_worker, "rendered": [str(p) for p in rendered], **record},
                                                 indent=1, default=str))
    print("\n".join(f"[drive] {line}" for line in lines), flush=True)
    return 1 if problems else 0


# ----------------------------------------------------------------------------- compare


def _without_seconds(trials: str) -> str:
    """A tuning run's trials (JSON) without each trial's wall time."""
    try:
        parsed = json.loads(trials)
    except (TypeError, ValueError):
        return trials
    if isinstance(parsed, list):
        parsed = [{k: v for k, v in t.items() if k != "seconds"} if isinstance(t, dict) else t for t in parsed]
    return json.dumps(parsed, sort_keys=True)


def compare(args) -> int:
    serial_dir, slurm_dir = Path(args.serial), Path(args.slurm)
    kinds = sorted({p.stem for p in serial_dir.glob("*.csv")} | {p.stem for p in slurm_dir.glob("*.csv")})
    problems: list[str] = []
    compared_rows = 0
    for kind in kinds:
        tables = {}
        for label, folder in (("serial", serial_dir), ("slurm", slurm_dir)):
            path = folder / f"{kind}.csv"
            tables[label] = pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else pd.DataFrame(columns=["key"])
            repeated = tables[label]["key"][tables[label]["key"].duplicated()].tolist()
            if repeated:
                problems.append(f"{kind}: {label} ledger holds key(s) {repeated} more than once")
        serial, slurm = (tables[label].drop_duplicates("key").set_index("key").sort_index() for label in ("serial", "slurm"))
        only = {"serial": sorted(set(serial.index) - set(slurm.index)), "slurm": sorted(set(slurm.index) - set(serial.index))}
        for label, keys in only.items():
            if keys:
                problems.append(f"{kind}: {len(keys)} key(s) only in the {label} ledger: {keys}")
        if set(serial.columns) != set(slurm.columns):
            problems.append(f"{kind}: columns differ: {sorted(set(serial.columns) ^ set(slurm.columns))}")
        ignored = sorted(c for c in serial.columns if c in IGNORED or "seconds" in c)
        columns = [c for c in serial.columns if c in slurm.columns and c not in ignored]
        common = serial.index.intersection(slurm.index)
        a, b = serial.loc[common, columns].copy(), slurm.loc[common, columns].copy()
        if "trials" in columns:
            a["trials"], b["trials"] = a["trials"].map(_without_seconds), b["trials"].map(_without_seconds)
        differing = (a != b)
        for key, row in differing.iterrows():
            for column in row.index[row.values]:
                problems.append(f"{kind} {key} {column}: serial {a.at[key, column]!r} != slurm {b.at[key, column]!r}")
        compared_rows += len(common)
        print(f"{kind}: {len(common)} rows x {len(columns)} columns compared ({len(serial)} serial, {len(slurm)} slurm); "
              f"ignored: {', '.join(ignored) or 'none'}{' (and the trials seconds)' if 'trials' in columns else ''}; "
              f"differing cells: {int(differing.values.sum())}")
    for problem in problems[:50]:
        print(f"  {problem}")
    if len(problems) > 50:
        print(f"  ... and {len(problems) - 50} more")
    if problems or not compared_rows:
        print(f"FAIL: {len(problems)} difference(s); {compared_rows} rows compared")
        return 1
    print(f"PASS: the SLURM ledger equals the serial one: {compared_rows} rows in {len(kinds)} kind(s), same keys, every compared cell identical")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("drive", help="reproduce on the SLURM cluster, cancelling one worker job mid-run")
    run.add_argument("--notebook", default="08_patient_level")
    run.add_argument("--work", required=True, help="the work folder (worker logs, results)")
    check = commands.add_parser("compare", help="compare a serial ledger with the SLURM one")
    check.add_argument("serial")
    check.add_argument("slurm")
    args = parser.parse_args(argv)
    return drive(args) if args.command == "drive" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
