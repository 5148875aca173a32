#!/usr/bin/python3
"""End-to-end test of `greentrain experiment submit --slurm` on a real single-node Slurm.

slurm_cluster.sh starts munged, slurmctld and slurmd on localhost with two fake GPUs (Slurm
sets CUDA_VISIBLE_DEVICES); a fake NVML (two boards at 100 W and 150 W) and a fake CUDA driver
that numbers the boards in the opposite order to NVML stand in for the GPUs. Part 1 submits a
command-workload plan as a 3-task array throttled to 2 and waits for the aggregation job: the
merged database must hold every run exactly once, each with its provenance (host, node, Slurm
ids, the board found by UUID, whose power its GPU energy shows), and the report. Part 2
cancels one task mid-run, resubmits, and checks that only that task ran again and that nothing
was lost or doubled. The daemons are stopped at the end whatever happens. Exits 77 (skipped)
with one line when the daemons cannot start.
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

UUID_A = "GPU-00000000-0000-0000-0000-00000000aaaa"  # NVML index 0, 100 W
UUID_B = "GPU-00000000-0000-0000-0000-00000000bbbb"  # NVML index 1, 150 W
POWER = {UUID_A: 100.0, UUID_B: 150.0}

PLAN = """name = "{name}"
[workload]
kind = "command"
command = "{train} {{precision}} {{batch_size}}"
[factors]
precision = ["fp32", "bf16"]
batch_size = [32, 64]
[design]
repeats = 3
warmup_runs = 1
seed = 5
[meters]
interval_ms = 50
"""

TRAIN = """#!/bin/sh
sleep {sleep_s}
echo "greentrain-metric test_accuracy=0.9$2"
"""


def sh(args, env, check=True):
    p = subprocess.run(args, env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def squeue(env):
    """[(job id, array task or '', state)] of every job in the test cluster."""
    p = sh(["squeue", "-h", "-r", "-o", "%F %K %A %T"], env)
    rows = []
    for line in p.stdout.splitlines():
        array_job, task, job, state = line.split()
        rows.append((array_job, task if task != "N/A" else "", job, state))
    return rows


def wait_idle(env, timeout_s, on_poll=None):
    t0 = time.time()
    while time.time() - t0 < timeout_s:
        rows = squeue(env)
        if on_poll:
            on_poll(rows)
        if not rows:
            return
        time.sleep(0.5)
    raise AssertionError(f"jobs still in the queue after {timeout_s} s: {squeue(env)}")


def runs_of(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    rows = con.execute(
        """SELECT r.run_index, r.block, r.warmup, r.status, r.started_at, r.duration_s,
                  p.host, p.node, p.gpu_uuid, p.gpu_pci_bus_id, p.gpu_mapping,
                  p.cuda_visible_devices, p.slurm_job_id, p.slurm_array_job_id,
                  p.slurm_array_task_id,
                  (SELECT sum(energy_j) FROM run_energy e WHERE e.run_id = r.id
                     AND e.component = 'gpu') AS gpu_energy_j
           FROM runs r LEFT JOIN run_provenance p ON p.run_id = r.id ORDER BY r.run_index"""
    ).fetchall()
    con.close()
    return [dict(r) for r in rows]


def submit(gt, plan, results, env, extra=()):
    p = sh([gt, "experiment", "submit", plan, "--slurm", "--results", results, "--tasks", "3",
            "--throttle", "2", "--gres", "gpu:1", *extra], env)
    m = re.search(r"array job (\d+)", p.stdout)
    return (m.group(1) if m else None), p.stdout


def check_merged(results, planned, array_job_ids):
    runs = runs_of(os.path.join(results, "merged.db"))
    indices = [r["run_index"] for r in runs]
    assert indices == list(range(1, planned + 1)), f"runs not exactly once: {indices}"
    for r in runs:
        assert r["status"] == "ok", r
        assert r["host"] and r["node"], r
        assert r["slurm_job_id"] and r["slurm_array_job_id"] in array_job_ids, r
        assert r["slurm_array_task_id"] in ("1", "2", "3"), r
        if not r["warmup"]:
            # Whole blocks: block b ran in task ((b - 1) mod 3) + 1.
            assert int(r["slurm_array_task_id"]) == (r["block"] - 1) % 3 + 1, r
        # The board comes from CUDA_VISIBLE_DEVICES through the CUDA driver's UUIDs; the fake
        # driver numbers the boards opposite to NVML, so index 0 is board B.
        assert r["gpu_mapping"] == "cuda-driver", r
        expected = {"0": UUID_B, "1": UUID_A}[r["cuda_visible_devices"]]
        assert r["gpu_uuid"] == expected, r
        assert r["gpu_pci_bus_id"] == {UUID_A: "00000000:17:00.0",
                                       UUID_B: "00000000:65:00.0"}[expected], r
        watts = r["gpu_energy_j"] / r["duration_s"]
        assert abs(watts - POWER[expected]) < 0.1 * POWER[expected], (watts, r)
    for f in ("report.html", "report.md", "analysis.json", "analysis.md"):
        assert os.path.getsize(os.path.join(results, f)) > 0, f
    json.load(open(os.path.join(results, "analysis.json")))
    return runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--greentrain", required=True)
    ap.add_argument("--fake-nvml", required=True)
    ap.add_argument("--fake-cuda", required=True)
    ap.add_argument("--fixture", required=True)
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="greentrain-slurm-test-")
    cluster = os.path.join(work, "cluster")
    start = subprocess.run(["bash", a.fixture, "start", cluster], capture_output=True, text=True)
    try:
        if start.returncode == 77:
            print(start.stdout.strip().splitlines()[-1])
            return 77
        assert start.returncode == 0, f"fixture failed:\n{start.stdout}{start.stderr}"
        env = dict(os.environ)
        env["SLURM_CONF"] = os.path.join(cluster, "slurm.conf")
        with open(os.path.join(work, "nvml.txt"), "w") as f:
            f.write(f"gpus=2\ngpu0.uuid={UUID_A}\ngpu0.power_w=100\ngpu0.pci=00000000:17:00.0\n"
                    f"gpu1.uuid={UUID_B}\ngpu1.power_w=150\ngpu1.pci=00000000:65:00.0\n")
        env.update(GREENTRAIN_NVML_LIB=a.fake_nvml, GREENTRAIN_FAKE_NVML=f.name,
                   GREENTRAIN_CUDA_DRIVER_LIB=a.fake_cuda,
                   GREENTRAIN_FAKE_CUDA=f"{UUID_B},{UUID_A}")
        env.pop("CUDA_VISIBLE_DEVICES", None)

        # ---- Part 1: a 3-task array, throttle 2, aggregation after it.
        train = os.path.join(work, "train.sh")
        with open(train, "w") as f:
            f.write(TRAIN.format(sleep_s=0.3))
        os.chmod(train, 0o755)
        plan = os.path.join(work, "plan.toml")
        with open(plan, "w") as f:
            f.write(PLAN.format(name="slurmtest", train=train))
        results = os.path.join(work, "results")
        dry = sh([a.greentrain, "experiment", "submit", plan, "--slurm", "--dry-run",
                  "--results", results, "--tasks", "3", "--throttle", "2"], env).stdout
        assert "#SBATCH --array=1-3%2" in dry and "--dependency=afterok:" in dry, dry
        assert not os.path.exists(results), "a dry run wrote the results folder"

        array_id, out = submit(a.greentrain, plan, results, env, ["--block-by", "gpu"])
        assert array_id, out
        most_running = [0]

        def count_running(rows):
            n = sum(1 for r in rows if r[0] == array_id and r[1] and r[3] == "RUNNING")
            most_running[0] = max(most_running[0], n)

        wait_idle(env, 240, count_running)
        assert most_running[0] <= 2, f"{most_running[0]} tasks ran at once despite %2"
        check_merged(results, 13, {array_id})
        # The aggregation's analysis blocked on the board: two boards, board B draws 50 W more,
        # so the board explains most of the variance of avg_power_w.
        blocking = json.load(open(os.path.join(results, "analysis.json")))["blocking"]
        power = blocking["metrics"]["avg_power_w"]
        assert blocking["by"] == "gpu" and sorted(power["levels"]) == [UUID_A, UUID_B], power
        assert power["block_share"] > 0.5 and power["terms"][-1]["p"] < 0.01, power
        status = sh([a.greentrain, "experiment", "status", "--slurm", results], env).stdout
        assert status.count("(complete)") == 3 and "merged.db: 13 of 13 runs" in status, status
        # Resubmitting a complete folder runs no task again.
        again_id, out = submit(a.greentrain, plan, results, env)
        assert again_id is None and "every task" in out, out
        wait_idle(env, 120)
        check_merged(results, 13, {array_id})

        # ---- Part 2: cancel a task mid-run, resubmit, nothing lost or doubled.
        with open(train, "w") as f:
            f.write(TRAIN.format(sleep_s=1.0))
        plan2 = os.path.join(work, "plan2.toml")
        with open(plan2, "w") as f:
            f.write(PLAN.format(name="cancelled", train=train))
        results2 = os.path.join(work, "results2")
        first_id, out = submit(a.greentrain, plan2, results2, env)
        task2 = os.path.join(results2, "task-2.db")
        t0 = time.time()
        while True:  # wait until task 2 has finished two runs, then cancel it
            done = len(runs_of(task2)) if os.path.exists(task2) else 0
            if done >= 2:
                break
            assert time.time() - t0 < 120, "task 2 never got going"
            time.sleep(0.2)
        sh(["scancel", f"{first_id}_2"], env)
        wait_idle(env, 120)
        before = {r["run_index"]: r["started_at"] for r in runs_of(task2) if r["status"] == "ok"}
        assert 2 <= len(before) < 5, f"task 2 was not cut short: {before}"
        status = sh([a.greentrain, "experiment", "status", "--slurm", results2], env).stdout
        assert "shard 2/3" in status and status.count("(complete)") == 2, status

        second_id, out = submit(a.greentrain, plan2, results2, env)
        assert second_id and second_id != first_id, out
        array_text = open(os.path.join(results2, "array.sbatch")).read()
        assert "#SBATCH --array=2%2" in array_text, "the resubmission ran more than task 2"
        wait_idle(env, 240)
        runs = check_merged(results2, 13, {first_id, second_id})
        for r in runs:
            if r["run_index"] in before and r["slurm_array_task_id"] == "2":
                # Finished before the cancel: kept as it was, not run again.
                assert r["started_at"] == before[r["run_index"]], r
                assert r["slurm_array_job_id"] == first_id, r
        assert any(r["slurm_array_job_id"] == second_id for r in runs), "task 2 did not resume"
        print("OK: 3-task array with throttle 2 merged, analysed and reported; a cancelled task "
              "resubmitted alone, nothing lost or doubled")
        return 0
    finally:
        subprocess.run(["bash", a.fixture, "stop", cluster], capture_output=True)
        if os.environ.get("GREENTRAIN_KEEP_TEST_DIR") is None:
            subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
