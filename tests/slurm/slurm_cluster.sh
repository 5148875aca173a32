#!/usr/bin/env bash
# A throw-away single-node Slurm cluster on localhost for the tests: munged, slurmctld and
# slurmd from the Debian packages, every file (key, config, state, spool, logs, sockets) under
# one directory, two fake GPUs (Gres=gpu:2 backed by /dev/tty0 and /dev/tty1) so that Slurm sets
# CUDA_VISIBLE_DEVICES in each job, process tracking without cgroups (proctrack/linuxproc,
# task/none), and ports picked free at start so it never clashes with a real cluster.
#
#   slurm_cluster.sh start DIR   starts the daemons; prints `export SLURM_CONF=...` on success,
#                                or one line `SKIP: <why>` and exits 77 when they cannot start
#   slurm_cluster.sh stop DIR    stops whatever `start` started (safe to call twice, or after a
#                                failed start)
# Needs root (slurmd runs jobs as their submitting user).
set -uo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2
  exit 2
fi

stop_pidfile() {  # stop_pidfile FILE: TERM the process it names, then KILL after 5 s
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null)
  rm -f "$f"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

if [ "$cmd" = stop ]; then
  # Jobs first (their steps belong to slurmd), then the daemons in reverse order.
  if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ]; then
    SLURM_CONF="$dir/slurm.conf" timeout 10 scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munged.pid"
  exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

skip() {
  echo "SKIP: $*"
  "$0" stop "$dir" >/dev/null 2>&1
  exit 77
}

[ "$(id -u)" -eq 0 ] || skip "the Slurm daemons need root to run jobs (running as $(id -un))"
for b in munged slurmctld slurmd sbatch scontrol; do
  command -v "$b" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
  command -v "$b" >/dev/null 2>&1 || skip "$b is not installed (scripts/install-deps installs slurm-wlm and munge)"
done
[ -e /dev/tty0 ] && [ -e /dev/tty1 ] || skip "/dev/tty0 and /dev/tty1 (the fake GPU device files) do not exist"

mkdir -p "$dir"/{state,spool,munge}
dir=$(cd "$dir" && pwd)
chmod 0700 "$dir/munge"

# munge: its own key, socket and files.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 0600 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" \
  >"$dir/munged.out" 2>&1 || skip "munged did not start: $(tail -n 1 "$dir/munged.out" "$dir/munged.log" 2>/dev/null | tr '\n' ' ')"

free_port() {  # a TCP port nobody listens on, from the range 20000-59999
  /usr/bin/python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done

host=$(hostname -s)
user=$(id -un)
cat >"$dir/slurm.conf" <<CONF
ClusterName=greentrain-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$user
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
GresTypes=gpu
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=sched_interval=1,bf_interval=1
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=2
MinJobAge=600
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=4 RealMemory=1000 Gres=gpu:2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
cat >"$dir/gres.conf" <<CONF
NodeName=$host Name=gpu File=/dev/tty[0-1]
CONF

export SLURM_CONF=$dir/slurm.conf
slurmctld -i -f "$SLURM_CONF" >"$dir/slurmctld.out" 2>&1 ||
  skip "slurmctld did not start: $(tail -n 2 "$dir/slurmctld.log" "$dir/slurmctld.out" 2>/dev/null | tr '\n' ' ')"
slurmd -f "$SLURM_CONF" >"$dir/slurmd.out" 2>&1 ||
  skip "slurmd did not start: $(tail -n 2 "$dir/slurmd.log" "$dir/slurmd.out" 2>/dev/null | tr '\n' ' ')"

# Wait until the node is idle (up to 30 s).
for _ in $(seq 60); do
  state=$(sinfo -h -N -o '%T' 2>/dev/null | head -n 1)
  case "$state" in
    idle*) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;;
  esac
  sleep 0.5
done
skip "the Slurm node did not become idle (state '${state:-none}'): $(tail -n 1 "$dir/slurmd.log" 2>/dev/null)"
