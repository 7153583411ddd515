#!/usr/bin/env bash
# A real SLURM run of `reproduce` on one machine: not a test, not run in CI.
#
# What it does, as root on a Debian machine without systemd:
#   1. installs Debian's Slurm and munge if absent (8 packages, ~13 MB);
#   2. computes the smoke profile's rows of one notebook serially, at one torch thread, into a
#      scratch ledger and model cache (the reference);
#   3. starts a single-node Slurm cluster: munged as the munge user, slurmctld and slurmd run
#      directly with pid files and a slurm.conf of their own (in the work folder: /etc/slurm is
#      left alone), and waits for the node to be idle;
#   4. runs the same notebook through the project's SLURM path (grid.slurm_client, i.e.
#      dask-jobqueue's SLURMCluster, then distributed.reproduce_on_dask) into another scratch
#      ledger and cache, with two one-CPU worker jobs kept by adapt(minimum_jobs=2); once a row
#      is in the ledger and while a worker is computing one, it cancels that worker's job
#      (scancel) and measures how long the replacement takes (scripts/slurm_single_node.py drive);
#   5. checks every key is in the SLURM ledger exactly once and its rows equal the serial run's
#      (scripts/slurm_single_node.py compare; what is compared and why is said there);
#   6. stops the daemons it started, by their pid files, also on failure or Ctrl-C.
#
#     sudo nice -n 19 scripts/slurm_single_node.sh [--notebook 08_patient_level] [--work DIR] [--serial-ledger DIR]
#
# PYTHON (default .venv/bin/python) is the project's interpreter; UNLEARNLIB_DATA_DIR the data.
# The summary goes to stdout and DIR/summary.txt; the Slurm, munge and Dask worker logs stay in DIR.
# Exit status: 0 the ledgers agree, 1 they differ (or a key is missing or repeated), 2 a set-up error.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
NOTEBOOK=08_patient_level   # the cheapest notebook with tuning, retrains and tuned experiments (tests/test_distributed.py's)
WORK=""
SERIAL_LEDGER=""  # a serial ledger of an earlier run of this script, to compare with instead of computing it again
while [ $# -gt 0 ]; do
  case "$1" in
    --notebook) NOTEBOOK="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --serial-ledger) SERIAL_LEDGER="$2"; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
WORK="${WORK:-$(mktemp -d /tmp/unlearnlib-slurm.XXXXXX)}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
SUMMARY="$WORK/summary.txt"
: > "$SUMMARY"

say() { echo "[slurm-test] $*" | tee -a "$SUMMARY"; }
since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }  # seconds since a `date +%s.%N`
fail_setup() { echo "[slurm-test] $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || fail_setup "run as root: it installs packages and starts munged, slurmctld and slurmd"
[ -x "$PYTHON" ] || fail_setup "no Python at $PYTHON; set PYTHON to the project's interpreter"
# The workers and the notebook kernels import this checkout's code, whatever the venv has installed.
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export UNLEARNLIB_DATA_DIR="${UNLEARNLIB_DATA_DIR:-$REPO/data}"
cd "$REPO"
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  fail_setup "a slurmctld or slurmd is already running here; this script starts and stops its own and will not share"
fi

# ---------------------------------------------------------------------------- 1. packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  start=$(date +%s.%N)
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge
  say "installed slurmctld slurmd slurm-client munge in $(since "$start") s"
fi
say "Slurm $(slurmctld -V | awk '{print $2}'), munge $(munged -V | awk '{print $1}' | sed 's/munge-//'); work folder $WORK"

# ---------------------------------------------------------------------------- clean-up
# Only what this script started is stopped: each daemon by the pid file it wrote; nothing by name.
STARTED_PIDFILES=()
stop_daemons() {
  local status=$?
  trap - EXIT INT TERM
  # Worker jobs still queued or running (the driver cancels its own on a clean exit).
  if [ -n "${SLURM_CONF:-}" ] && [ -f "$WORK/run/slurmctld.pid" ]; then
    scancel --quiet --user=root 2>/dev/null || true
  fi
  local i
  for ((i=${#STARTED_PIDFILES[@]}-1; i>=0; i--)); do  # the reverse of the start order: slurmd, slurmctld, munged
    local pidfile="${STARTED_PIDFILES[$i]}" pid
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "[slurm-test] stopped pid $pid ($pidfile)"
    fi
  done
  exit "$status"
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------- 2. the serial reference
# One torch thread: the Dask workers compute at the driver's thread count (distributed.compute_row),
# and the driver below runs at OMP_NUM_THREADS=1, as each one-CPU worker job should.
if [ -n "$SERIAL_LEDGER" ]; then
  say "serial ledger: $SERIAL_LEDGER (given)"
else
  SERIAL_LEDGER="$WORK/serial/ledger"
  say "serial run of $NOTEBOOK (smoke profile, 1 thread) into $WORK/serial"
  start=$(date +%s.%N)
  OMP_NUM_THREADS=1 UNLEARNLIB_LEDGER_DIR="$SERIAL_LEDGER" UNLEARNLIB_CACHE_DIR="$WORK/serial/cache" \
    "$PYTHON" -m unlearnlib reproduce --profile smoke --notebook "$NOTEBOOK" --output-dir "$WORK/serial/rendered" > "$WORK/serial.log" 2>&1 \
    || { tail -20 "$WORK/serial.log"; fail_setup "the serial run failed (log: $WORK/serial.log)"; }
  say "serial run: $(since "$start") s wall (compute and render)"
fi

# ---------------------------------------------------------------------------- 3. a single-node cluster
NODE="$(hostname -s)"
CPUS="$(nproc)"
REAL_MB=$(( $(awk '/^MemTotal/ {print $2}' /proc/meminfo) / 1024 ))
mkdir -p "$WORK/etc" "$WORK/run" "$WORK/log" "$WORK/state" "$WORK/spool" "$WORK/dask-logs"
export SLURM_CONF="$WORK/etc/slurm.conf"  # read by the daemons and by sbatch, squeue, scancel (dask-jobqueue's too)
cat > "$SLURM_CONF" <<EOF
# A single-node cluster for scripts/slurm_single_node.sh; every path is under $WORK.
ClusterName=unlearnlib-test
SlurmctldHost=$NODE(127.0.0.1)
# Root runs both daemons: one machine, nothing to separate, and no state folder to chown.
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
# No systemd and no cgroup set-up here: processes tracked by parent pid, tasks not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Cores and memory are what jobs ask for (dask-jobqueue writes --cpus-per-task and --mem).
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
SchedulerType=sched/backfill
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/run/slurmctld.pid
SlurmdPidFile=$WORK/run/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
# RealMemory below the machine's ($REAL_MB MB): a node that reports less than it is declared with is drained.
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$(( REAL_MB * 3 / 4 )) State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

# munged: as the munge user, with the folders the Debian service would create. One already running
# (its socket answers) is used and left running.
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already running: using it (and leaving it running)"
else
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  STARTED_PIDFILES+=(/run/munge/munged.pid)
  munge -n | unmunge >/dev/null || fail_setup "munged does not answer (log: /var/log/munge/munged.log)"
fi

start=$(date +%s.%N)
slurmctld -f "$SLURM_CONF"   # daemonizes and writes SlurmctldPidFile
STARTED_PIDFILES+=("$WORK/run/slurmctld.pid")
slurmd -f "$SLURM_CONF"      # jobs inherit its nice value: run the script under nice to keep them low
STARTED_PIDFILES+=("$WORK/run/slurmd.pid")
state=""
for _ in $(seq 600); do
  state="$(sinfo -h -N -n "$NODE" -o %T 2>/dev/null || true)"
  [ "$state" = idle ] && break
  sleep 0.1
done
[ "$state" = idle ] || { tail -5 "$WORK/log/slurmctld.log" "$WORK/log/slurmd.log"; fail_setup "node $NODE is '$state', not idle, after 60 s"; }
say "node $NODE idle $(since "$start") s after starting slurmctld and slurmd ($CPUS CPUs, RealMemory $(( REAL_MB * 3 / 4 )) MB)"

# ---------------------------------------------------------------------------- 4. the SLURM run
say "SLURM run of $NOTEBOOK into $WORK/slurm (2 worker jobs, 1 CPU each; one cancelled mid-run)"
start=$(date +%s.%N)
status=0
OMP_NUM_THREADS=1 UNLEARNLIB_LEDGER_DIR="$WORK/slurm/ledger" UNLEARNLIB_CACHE_DIR="$WORK/slurm/cache" \
  "$PYTHON" scripts/slurm_single_node.py drive --notebook "$NOTEBOOK" --work "$WORK" > "$WORK/drive.log" 2>&1 || status=$?
say "SLURM run: $(since "$start") s wall (worker jobs' start, compute and render)"
if [ -f "$WORK/drive-summary.txt" ]; then
  sed 's/^/[slurm-test] /' "$WORK/drive-summary.txt" | tee -a "$SUMMARY"
else
  tail -20 "$WORK/drive.log"
fi
[ "$status" = 0 ] || { say "FAIL: the SLURM run (log: $WORK/drive.log)"; exit 1; }

# ---------------------------------------------------------------------------- 5. the comparison
"$PYTHON" scripts/slurm_single_node.py compare "$SERIAL_LEDGER" "$WORK/slurm/ledger" 2>&1 | tee -a "$SUMMARY" || status=$?
exit "$status"
