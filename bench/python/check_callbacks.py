#!/usr/bin/env python3
"""Checks one framework callback's device run (bench/python/run_callbacks.sh): the JSON the
script wrote standalone, the JSON the same script wrote under `greentrain measure`, and that
run's `measure --json`. Prints one PASS/FAIL line per check and writes them to --out as JSON;
exits 1 when any check failed.

    check_callbacks.py --kind lightning|transformers --standalone S.json --metered W.json
                       --measure M.json --out checks.json"""
import argparse
import json

INNER = {"lightning": "validation", "transformers": "evaluate"}
ACCURACY = {"lightning": "val_acc", "transformers": "eval_accuracy"}


def close(a, b, tolerance_j):
    return a is not None and b is not None and abs(a - b) <= tolerance_j


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kind", choices=sorted(INNER), required=True)
    p.add_argument("--standalone", required=True)
    p.add_argument("--metered", required=True)
    p.add_argument("--measure", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    alone = json.load(open(a.standalone))
    inside = json.load(open(a.metered))
    measured = json.load(open(a.measure))
    checks = []

    def check(name, ok, detail=""):
        checks.append({"check": name, "pass": bool(ok), "detail": detail})
        print(f"{'PASS' if ok else 'FAIL'} {a.kind}: {name}{': ' + detail if detail else ''}",
              flush=True)

    check("standalone run is standalone, metered run is metered",
          alone["in_metered_run"] is False and inside["in_metered_run"] is True)
    for label, run in (("standalone", alone), ("metered", inside)):
        w = run["windows"]
        paths = [x["path"] for x in w]
        epochs = [x for x in w if x["path"] == "train/epoch"]
        inner = [x for x in w if x["path"] == "train/epoch/" + INNER[a.kind]]
        check(f"{label}: windows train, train/epoch, train/epoch/{INNER[a.kind]}",
              paths.count("train") == 1 and epochs and len(inner) == len(epochs),
              f"{len(epochs)} epochs, {len(inner)} {INNER[a.kind]}, paths {paths}")
        missing = [(x["path"], k) for x in w for k in ("energy_j", "co2e_g", "uncertainty_j")
                   if x.get(k) is None]
        check(f"{label}: no None figures", not missing, str(missing[:5]))
        check(f"{label}: every window measured the GPU",
              all(x["energy_j"] > 0 and any(k.startswith("gpu:") for k in x["components"])
                  and all(s.startswith("measured") for k, s in x["sources"].items()
                          if k.startswith("gpu:")) for x in w))
        check(f"{label}: each epoch holds its {ACCURACY[a.kind]}",
              all(ACCURACY[a.kind] in x["metrics"] for x in epochs),
              str([x["metrics"].get(ACCURACY[a.kind]) for x in epochs]))
        train = next((x for x in w if x["path"] == "train"), None)
        check(f"{label}: the epochs lie inside the training window",
              train and sum(x["energy_j"] for x in epochs) <= train["energy_j"] * 1.001,
              f"epochs {sum(x['energy_j'] for x in epochs):.1f} J, "
              f"train {train['energy_j'] if train else float('nan'):.1f} J")
        if a.kind == "lightning":
            logged = [e for e in run["logged"] if "epoch_energy_j" in e]
            check(f"{label}: the trainer's logger got each epoch's energy",
                  [round(e["epoch_energy_j"], 6) for e in logged]
                  == [round(x["energy_j"], 6) for x in epochs])
        else:
            logged = [e for e in run["log_history"] if "epoch_energy_j" in e]
            check(f"{label}: the log history holds each epoch's energy",
                  [round(e["epoch_energy_j"], 6) for e in logged]
                  == [round(x["energy_j"], 6) for x in epochs]
                  and any("train_energy_j" in e for e in run["log_history"]))
    check("same windows and metric names standalone and metered",
          [(x["path"], sorted(x["metrics"])) for x in alone["windows"]]
          == [(x["path"], sorted(x["metrics"])) for x in inside["windows"]])
    phases = {}
    for ph in measured["phases"]:
        path = (ph["parent"] + "/" if ph["parent"] else "") + ph["name"]
        phases.setdefault(path, []).append(ph)
    mismatches = []
    for x in inside["windows"]:
        same_path = phases.get(x["path"])
        ph = same_path.pop(0) if same_path else None
        # The same code over the same readings, but the edge tracker may re-time a GPU counter
        # edge once it has seen later ones: within the stated uncertainties.
        tolerance = ph and max(1e-6 * ph["energy_j"], x["uncertainty_j"] + ph["uncertainty_j"])
        if ph is None or not close(x["energy_j"], ph["energy_j"], tolerance) \
                or x["metrics"] != ph["metrics"]:
            mismatches.append((x["path"], x["energy_j"], ph and ph["energy_j"]))
    check("under measure each window is its phase (energy, metrics)", not mismatches,
          str(mismatches[:3]))
    with open(a.out, "w") as f:
        json.dump({"kind": a.kind, "version": alone.get("version"), "checks": checks,
                   "pass": all(c["pass"] for c in checks)}, f, indent=1)
    raise SystemExit(0 if all(c["pass"] for c in checks) else 1)


if __name__ == "__main__":
    main()
