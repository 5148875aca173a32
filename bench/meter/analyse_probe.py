"""Summarises a probe_device.sh output folder: python3 bench/meter/analyse_probe.py OUT_DIR

Per configuration: runs, lost phases, train-phase energy mean and CV (all runs, and without
flagged ones), the stated uncertainty, flagged count. From the edge tracker's raw reads: read
cost, polling gaps, update periods, value changes seen across a gap wider than 20 ms or a
period near twice the median (a missed update); and, for the train phases with the largest
stated uncertainty, the reads around both boundaries.
"""
import collections
import csv
import json
import os
import statistics
import sys

out = sys.argv[1]
runs = [json.loads(l) for l in open(os.path.join(out, "runs.jsonl")) if l.strip()]
reads = collections.defaultdict(list)  # run number -> [(t0, t1, value)]
with open(os.path.join(out, "edges.csv")) as f:
    for row in csv.reader(f):
        if len(row) < 6:
            continue
        label, run, dev, t0, t1, v = row[:6]
        reads[int(run)].append((float(t0), float(t1), float(v)))


def cv(xs):
    return statistics.stdev(xs) / statistics.mean(xs) if len(xs) > 1 else float("nan")


by = collections.defaultdict(list)
for i, r in enumerate(runs, 1):
    by[r["label"]].append((i, r))
print("== phases and train energy")
for label, rs in by.items():
    lost = sum(3 - len({p["name"] for p in r.get("phases", [])} & {"setup", "train", "eval"}) for _, r in rs)
    tr = [(i, p) for i, r in rs for p in r.get("phases", []) if p["name"] == "train"]
    e = [p["energy_j"] for _, p in tr]
    u = [p["uncertainty_j"] for _, p in tr]
    ok = [p["energy_j"] for _, p in tr if not p.get("flagged")]
    d = [p["duration_s"] for _, p in tr]
    print(f"{label:12s} runs {len(rs):3d} lost phases {lost}  train {statistics.mean(d)*1e3:.0f} ms "
          f"E {statistics.mean(e):.2f} J CV {100*cv(e):.2f} %  unflagged CV {100*cv(ok):.2f} % (n {len(ok)})"
          f"  u median {statistics.median(u):.2f} max {max(u):.2f} J  flagged {sum(1 for _, p in tr if p.get('flagged'))}")
    bad = [r for _, r in rs if r.get("rc")]
    if bad:
        print("   failed runs:", len(bad))

print("== edge tracker reads")
allcost, allgap, periods, wide, missed = [], [], [], 0, 0
for run, rr in reads.items():
    rr.sort()
    allcost += [1e3 * (b - a) for a, b, _ in rr]
    mids = [(a + b) / 2 for a, b, _ in rr]
    allgap += [1e3 * (y - x) for x, y in zip(mids, mids[1:])]
    ch = [i for i in range(1, len(rr)) if rr[i][2] != rr[i - 1][2]]
    em = [(mids[i] + mids[i - 1]) / 2 for i in ch]
    p = [1e3 * (y - x) for x, y in zip(em, em[1:])]
    periods += p
    wide += sum(1 for i in ch if mids[i] - mids[i - 1] > 0.020)
if allcost:
    allcost.sort(); allgap.sort(); periods.sort()
    q = lambda xs, f: xs[int(f * (len(xs) - 1))]
    med = statistics.median(periods)
    missed = sum(1 for x in periods if x > 1.6 * med)
    print(f"reads {len(allcost)}  cost ms median {q(allcost,.5):.2f} p99 {q(allcost,.99):.2f} max {allcost[-1]:.2f}")
    print(f"gaps between reads ms median {q(allgap,.5):.1f} p99 {q(allgap,.99):.1f} max {allgap[-1]:.1f}")
    print(f"update periods ms median {med:.1f} p1 {q(periods,.01):.1f} p99 {q(periods,.99):.1f} min {periods[0]:.1f} max {periods[-1]:.1f}")
    print(f"changes seen across a gap > 20 ms: {wide}; periods > 1.6x median (missed update?): {missed}")

print("== the train phases with the largest stated uncertainty: reads around their boundaries")
tr_all = [(i, p) for i, r in enumerate(runs, 1) for p in r.get("phases", []) if p["name"] == "train"]
tr_all.sort(key=lambda x: -x[1]["uncertainty_j"])
for i, p in tr_all[:4]:
    rr = sorted(reads.get(i, []))
    if not rr:
        continue
    start = rr[0][0]
    b0 = start + p["t_begin_s"]
    b1 = b0 + p["duration_s"]
    print(f"run {i} {runs[i-1]['label']}: train {p['duration_s']*1e3:.0f} ms E {p['energy_j']:.2f} u {p['uncertainty_j']:.2f} J")
    for name, b in (("begin", b0), ("end", b1)):
        near = [(a, c, v) for a, c, v in rr if b - 0.25 < a < b + 0.25]
        txt = " ".join(f"{1e3*(a-b):+.0f}({1e3*(c-a):.0f}){'*' if k and v != near[k-1][2] else ''}" for k, (a, c, v) in enumerate(near))
        print(f"  {name}: reads at ms from boundary (cost), * = value changed: {txt}")

# Re-compute each train phase's GPU energy offline from the raw reads, with the edges as observed
# (middle of each gap) and re-timed from the period (edges.cpp's retime_wide_edges), to see what
# the re-timing changes.
def edges_of(rr):
    out = [((rr[0][0] + rr[0][1]) / 2, (rr[0][1] - rr[0][0]) / 2, rr[0][2])]
    last_mid, last_v = out[0][0], rr[0][2]
    for a, b, v in rr[1:]:
        mid = (a + b) / 2
        if v != last_v and v >= 0:
            out.append(((last_mid + mid) / 2, (mid - last_mid) / 2, v))
        last_mid, last_v = mid, v
    return out


def retime(e, period, jitter, wide):
    out = list(e)
    for k in range(1, len(e)):
        t, h, v = e[k]
        if h <= wide:
            continue
        w_sum = 1 / max(1e-12, (h / 3 ** .5) ** 2)
        t_sum = t * w_sum
        for j in (k - 1, k + 1):
            if j < 1 or j >= len(e) or e[j][1] > wide:
                continue
            dt = t - e[j][0]
            if abs(abs(dt) - period) > h + e[j][1] + 3 * jitter:
                continue
            var = (e[j][1] / 3 ** .5) ** 2 + jitter ** 2
            w_sum += 1 / max(1e-12, var)
            t_sum += (e[j][0] + (period if dt > 0 else -period)) / max(1e-12, var)
        out[k] = (min(max(t_sum / w_sum, t - h), t + h), min(h, (3 / w_sum) ** .5), v)
    return out


def at(e, t):
    for k in range(2, len(e)):
        if e[k - 1][0] <= t <= e[k][0]:
            f = (t - e[k - 1][0]) / (e[k][0] - e[k - 1][0])
            return e[k - 1][2] + f * (e[k][2] - e[k - 1][2])
    return None


print("== train-phase GPU energy recomputed offline: observed edges vs re-timed")
res = collections.defaultdict(lambda: ([], [], []))
for i, r in enumerate(runs, 1):
    rr = sorted(reads.get(i, []))
    if len(rr) < 10:
        continue
    e = edges_of(rr)
    steps = sorted(b[0] - a[0] for a, b in zip(e[1:], e[2:]))
    if len(steps) < 5:
        continue
    period = steps[len(steps) // 2]
    jitter = (steps[len(steps) * 9 // 10] - steps[len(steps) // 10]) / 2.56
    gaps = sorted(x[1] for x in e[1:])
    wide = max(3 * gaps[len(gaps) // 2], 0.003)
    e2 = retime(e, period, jitter, wide)
    t0 = rr[0][1]
    for p in r.get("phases", []):
        if p["name"] != "train":
            continue
        b0, b1 = t0 + p["t_begin_s"], t0 + p["t_begin_s"] + p["duration_s"]
        a0, a1, c0, c1 = at(e, b0), at(e, b1), at(e2, b0), at(e2, b1)
        if None in (a0, a1, c0, c1):
            continue
        res[r["label"]][0].append(a1 - a0)
        res[r["label"]][1].append(c1 - c0)
        res[r["label"]][2].append(p["gpu_j"])
for label, (obs, ret, reported) in res.items():
    print(f"{label:12s} n {len(obs)}  observed edges CV {100*cv(obs):.2f} % mean {statistics.mean(obs):.2f} J"
          f"  re-timed CV {100*cv(ret):.2f} % mean {statistics.mean(ret):.2f} J"
          f"  reported gpu CV {100*cv(reported):.2f} % mean {statistics.mean(reported):.2f} J")
