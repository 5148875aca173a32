#!/usr/bin/python3
"""Independent reference for greentrain's analysis, computed with SciPy 1.10 and
statsmodels 0.13 from the same runs-table CSV the C++ code reads. Prints JSON with the keys of
`greentrain analyze --format json` so the C++ test can compare them value by value.

Library functions used: scipy.stats (ttest_ind, ttest_rel, mannwhitneyu, f_oneway, levene with
center='median', tukey_hsd, t), statsmodels (multipletests holm, anova_oneway use_var='unequal'
for Welch's ANOVA, ols + anova_lm typ=2, ttost_ind usevar='unequal', TTestIndPower).
Computed here from their textbook formulas because neither library has them: Hedges' g
(pooled sd, J = 1 - 3/(4(n1+n2)-9)), eta squared (SSB/SST), the Welch-Satterthwaite df and the
Welch confidence interval of the difference (scipy 1.10's ttest_ind reports neither), the
modified Cox interval of a positive quantity's mean (Olsson 2005), and the rule choosing the
exact Mann-Whitney p (both samples < 50 and no ties, as R's wilcox.test).

Usage: reference.py CSV --factors a,b --baseline a=x,b=y [--metrics m1,m2] [--alpha 0.05]
       [--equivalence metric:margin ...] [--drop a:b ...]
       reference.py --sample-size CV EFFECT_PCT POWER ALPHA
       reference.py --batch MANIFEST.json OUT.json   (every case of the stats_reference
       fixture in one process)
"""
import argparse
import csv
import json
import math
import os
import sys
import warnings

try:
    import numpy as np
    import pandas as pd
    from scipy import stats
    from statsmodels.formula.api import ols
    from statsmodels.stats.anova import anova_lm
    from statsmodels.stats.multitest import multipletests
except ImportError as missing:
    sys.exit(f"reference.py: {missing}; install python3-numpy python3-pandas python3-scipy "
             "python3-statsmodels")
from statsmodels.stats.oneway import anova_oneway
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.weightstats import ttost_ind

warnings.simplefilter("ignore")


def clean(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def n_for_power(d, alpha, power=0.8):
    """Smallest n >= 2 per group whose statsmodels power reaches `power` (integer search over
    TTestIndPower().power; solve_power is unreliable for very large effects)."""
    if d is None or not math.isfinite(d) or d == 0:
        return None
    pw = lambda n: TTestIndPower().power(effect_size=abs(d), nobs1=n, alpha=alpha, ratio=1.0,
                                         alternative="two-sided")
    if pw(2) >= power:
        return 2
    lo, hi = 2, 4
    while pw(hi) < power:
        lo, hi = hi, hi * 2
        if hi > 10_000_000:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pw(mid) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def cox_interval(x):
    """Modified Cox interval (Olsson 2005) of the mean of a log-normal sample, t with n-1 df."""
    n = len(x)
    if n < 2:
        return None, None
    y = np.log(x)
    s2 = np.var(y, ddof=1)
    centre = np.mean(y) + s2 / 2
    half = stats.t.ppf(0.975, n - 1) * math.sqrt(s2 / n + s2 ** 2 / (2 * (n - 1)))
    return math.exp(centre - half), math.exp(centre + half)


def pooled_sd(x, y):
    nx, ny = len(x), len(y)
    if nx + ny < 3:
        return None
    vx = np.var(x, ddof=1) if nx > 1 else 0.0
    vy = np.var(y, ddof=1) if ny > 1 else 0.0
    return math.sqrt(((nx - 1) * vx + (ny - 1) * vy) / (nx + ny - 2))


def welch(x, y, alpha):
    nx, ny = len(x), len(y)
    out = {"welch_t": None, "welch_df": None, "welch_p": None, "diff_ci_low": None,
           "diff_ci_high": None}
    if nx < 2 or ny < 2:
        return out
    vx, vy = np.var(x, ddof=1) / nx, np.var(y, ddof=1) / ny
    if np.ptp(x) == 0 and np.ptp(y) == 0:  # exact zero variance (np.var may give 1e-33)
        return out
    r = stats.ttest_ind(x, y, equal_var=False)
    df = (vx + vy) ** 2 / (vx ** 2 / (nx - 1) + vy ** 2 / (ny - 1))
    diff = np.mean(x) - np.mean(y)
    q = stats.t.ppf(1 - alpha / 2, df)
    se = math.sqrt(vx + vy)
    out.update(welch_t=r.statistic, welch_df=df, welch_p=r.pvalue, diff_ci_low=diff - q * se,
               diff_ci_high=diff + q * se)
    return out


def log_ratio(x, y, alpha):
    """Ratio of means on the log scale: Welch's t-test of log(x) against log(y) (SciPy), its
    difference of mean logs and t interval exponentiated."""
    lx, ly = np.log(x), np.log(y)
    out = {"ratio": math.exp(np.mean(lx) - np.mean(ly))}
    w = welch(lx, ly, alpha)
    if w["welch_p"] is None:
        return out
    out.update(ratio_p=w["welch_p"], ratio_ci_low=math.exp(w["diff_ci_low"]),
               ratio_ci_high=math.exp(w["diff_ci_high"]))
    return out


def analyze(args):
    factors = args.factors.split(",")
    baseline = dict(kv.split("=", 1) for kv in args.baseline.split(",")) if args.baseline else {}
    with open(args.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    used = [r for r in rows if (r.get("status") or "ok") == "ok" and (r.get("warmup") or "0") != "1"]
    configs = sorted({tuple(r[f] for f in factors) for r in used})
    base = tuple(baseline[f] for f in factors)
    result = {"alpha": args.alpha, "baseline": dict(zip(factors, base)), "metrics": {},
              "equivalence": [],
              "runs": {"total": len(rows), "used": len(used), "excluded": len(rows) - len(used)}}

    def values(metric):
        vals, blocks = {}, {}
        for r in used:
            if r.get(metric, "") == "":
                continue
            c = tuple(r[f] for f in factors)
            vals.setdefault(c, []).append(float(r[metric]))
            blocks.setdefault(c, []).append(int(r["block"]) if r.get("block", "") != "" else None)
        return vals, blocks

    for metric in args.metrics.split(","):
        vals, blocks = values(metric)
        if not vals:
            continue
        cells = [c for c in configs if c in vals]
        m = {"cells": [], "versus_baseline": []}
        positive = (all(v > 0 for c in cells for v in vals[c])
                    and metric.endswith(("_j", "_s", "_w", "_g", "_wh", "_kwh")))
        for c in cells:
            x = np.array(vals[c])
            n = len(x)
            mean = np.mean(x)
            sd = np.std(x, ddof=1) if n > 1 else None
            se = sd / math.sqrt(n) if sd is not None else None
            if positive:
                lo, hi = cox_interval(x)
            else:
                lo, hi = (stats.t.interval(0.95, n - 1, loc=mean, scale=se) if n > 1 and sd > 0
                          else (mean, mean) if n > 1 else (None, None))  # sd 0: a point
            m["cells"].append({"config": dict(zip(factors, c)), "n": n, "mean": mean, "sd": sd,
                               "se": se, "ci95_low": lo, "ci95_high": hi,
                               "median": np.median(x), "min": np.min(x), "max": np.max(x),
                               "cv": sd / abs(mean) if sd is not None and mean != 0 else None})
        b = np.array(vals[base])
        bblocks = {}
        for v, k in zip(vals[base], blocks[base]):
            if k is not None:
                bblocks.setdefault(k, []).append(v)
        comps = []
        for c in cells:
            if c == base:
                continue
            x = np.array(vals[c])
            row = {"config": dict(zip(factors, c)), "diff": np.mean(x) - np.mean(b),
                   "diff_pct": 100 * (np.mean(x) - np.mean(b)) / np.mean(b)}
            row.update(welch(x, b, args.alpha))
            sp = pooled_sd(x, b)
            d = (np.mean(x) - np.mean(b)) / sp if sp else None
            row["hedges_g"] = d * (1 - 3 / (4 * (len(x) + len(b)) - 9)) if d is not None else None
            pooled = np.concatenate([x, b])
            ties = len(np.unique(pooled)) != len(pooled)
            exact = len(x) < 50 and len(b) < 50 and not ties
            if len(np.unique(pooled)) == 1:
                row["mw_u"], row["mw_p"] = len(x) * len(b) / 2, None
            else:
                mw = stats.mannwhitneyu(x, b, alternative="two-sided", use_continuity=True,
                                        method="exact" if exact else "asymptotic")
                row["mw_u"], row["mw_p"] = mw.statistic, mw.pvalue
            xb = {}
            for v, k in zip(vals[c], blocks[c]):
                if k is not None:
                    xb.setdefault(k, []).append(v)
            shared = sorted(set(xb) & set(bblocks))
            row["paired_t"] = row["paired_p"] = None
            if len(shared) >= 2:
                xs = [np.mean(xb[k]) for k in shared]
                bs = [np.mean(bblocks[k]) for k in shared]
                if np.ptp(np.array(xs) - np.array(bs)) > 0:
                    pr = stats.ttest_rel(xs, bs)
                    row["paired_t"], row["paired_p"] = pr.statistic, pr.pvalue
            row["n_for_80pct_power"] = n_for_power(d, args.alpha)
            if positive:
                row.update(log_ratio(x, b, args.alpha))
                lsp = pooled_sd(np.log(x), np.log(b))
                row["_effect"] = ((np.mean(np.log(x)) - np.mean(np.log(b))) / lsp
                                  if lsp else None)
            else:
                row["_effect"] = d
            row["_n"] = max(len(x), len(b))
            comps.append(row)
        ps = [r["welch_p"] for r in comps]
        valid = [i for i, p in enumerate(ps) if p is not None and math.isfinite(p)]
        adj = multipletests([ps[i] for i in valid], method="holm")[1] if valid else []
        for r in comps:
            r["p_holm"] = None
        for i, a in zip(valid, adj):
            comps[i]["p_holm"] = a
        if positive:
            rps = [r.get("ratio_p") for r in comps]
            rvalid = [i for i, p in enumerate(rps) if p is not None and math.isfinite(p)]
            radj = multipletests([rps[i] for i in rvalid], method="holm")[1] if rvalid else []
            for i, a in zip(rvalid, radj):
                comps[i]["ratio_p_holm"] = a
        # Runs needed: 80 % power for the verdict's test (log scale for a positive quantity) at
        # alpha / m, Holm's strictest step; at least one run more than either side has; only
        # where the Holm-adjusted p did not reach alpha.
        decisive = "ratio_p_holm" if positive else "p_holm"
        tests = sum(1 for r in comps if r.get(decisive) is not None)
        for r in comps:
            p_dec = r.get(decisive)
            r["runs_needed"] = None
            if p_dec is not None and p_dec >= args.alpha:
                n = n_for_power(r["_effect"], args.alpha / tests)
                r["runs_needed"] = max(n, r["_n"] + 1) if n is not None else None
            del r["_effect"], r["_n"]
        m["versus_baseline"] = comps

        groups = [np.array(vals[c]) for c in cells]
        allv = np.concatenate(groups)
        grand = np.mean(allv)
        ssb = sum(len(g) * (np.mean(g) - grand) ** 2 for g in groups)
        ssw = sum(np.sum((g - np.mean(g)) ** 2) for g in groups)
        f = stats.f_oneway(*groups)
        finite = math.isfinite(f.statistic)  # infinite F (zero within-group SS): no test
        m["oneway_anova"] = {"f": f.statistic, "p": f.pvalue if finite else None, "df_between": len(groups) - 1,
                             "df_within": len(allv) - len(groups),
                             "eta_sq": ssb / (ssb + ssw) if np.ptp(allv) > 0 else None}
        if all(len(g) > 1 and np.ptp(g) > 0 for g in groups):
            w = anova_oneway(groups, use_var="unequal", welch_correction=True)
            m["welch_anova"] = {"f": w.statistic, "p": w.pvalue, "df_num": w.df_num,
                                "df_den": w.df_denom}
        else:
            m["welch_anova"] = {"f": None, "p": None}
        lv = stats.levene(*groups, center="median")
        m["levene"] = {"w": lv.statistic, "p": lv.pvalue}

        df = pd.DataFrame([dict(zip(factors, c), y=v) for c in cells for v in vals[c]])
        varying = [f for f in factors if df[f].nunique() > 1]
        terms = [f"C({f})" for f in varying]
        names = list(varying)
        for i in range(len(varying)):
            for j in range(i + 1, len(varying)):
                name = f"{varying[i]}:{varying[j]}"
                if name in args.drop:
                    continue
                terms.append(f"C({varying[i]}):C({varying[j]})")
                names.append(name)
        fit = ols("y ~ " + " + ".join(terms), data=df).fit()
        table = anova_lm(fit, typ=2)
        # Sums of squares below 1e-12 of the total are rounding noise: exact zeros (greentrain's
        # documented rule); with a zero residual there is no F test.
        sst = 0.0 if np.ptp(df["y"]) == 0 else float(np.sum((df["y"] - df["y"].mean()) ** 2))
        zero = lambda v: 0.0 if sst == 0 or v <= 1e-12 * sst else v
        ss_res = zero(table.loc["Residual", "sum_sq"])
        out_terms = []
        for t, name in zip(terms, names):
            r = table.loc[t]
            ss = zero(r["sum_sq"])
            testable = ss_res > 0
            out_terms.append({"term": name, "df": r["df"], "sum_sq": ss,
                              "f": r["F"] if testable else None,
                              "p": r["PR(>F)"] if testable else None,
                              "partial_eta_sq": ss / (ss + ss_res) if ss + ss_res > 0 else None})
        out_terms.append({"term": "Residual", "df": table.loc["Residual", "df"], "sum_sq": ss_res})
        m["factorial_anova"] = {"type": 2, "terms": out_terms}

        m["tukey_hsd"] = []
        if ssw > 0 and len(allv) > len(groups) and all(len(g) > 1 for g in groups):
            th = stats.tukey_hsd(*groups)
            ci = th.confidence_interval(0.95)
            for i in range(len(cells)):
                for j in range(i + 1, len(cells)):
                    m["tukey_hsd"].append({"a": dict(zip(factors, cells[i])),
                                           "b": dict(zip(factors, cells[j])),
                                           "diff": th.statistic[j, i], "p_adj": th.pvalue[j, i],
                                           "ci_low": ci.low[j, i], "ci_high": ci.high[j, i]})
        elif ssw > 0 and len(allv) > len(groups):
            # scipy.stats.tukey_hsd refuses groups of one run; the Tukey-Kramer formula with
            # scipy's studentized range distribution gives the same statistics.
            k, dfw = len(groups), len(allv) - len(groups)
            mse = ssw / dfw
            qc = stats.studentized_range.ppf(0.95, k, dfw)
            for i in range(len(cells)):
                for j in range(i + 1, len(cells)):
                    diff = np.mean(groups[j]) - np.mean(groups[i])
                    se = math.sqrt(mse / 2 * (1 / len(groups[i]) + 1 / len(groups[j])))
                    m["tukey_hsd"].append({"a": dict(zip(factors, cells[i])),
                                           "b": dict(zip(factors, cells[j])), "diff": diff,
                                           "p_adj": stats.studentized_range.sf(abs(diff) / se, k, dfw),
                                           "ci_low": diff - qc * se, "ci_high": diff + qc * se})
        result["metrics"][metric] = m

    for spec in args.equivalence:
        metric, margin = spec.rsplit(":", 1)
        margin = float(margin)
        vals, _ = values(metric)
        if base not in vals:
            continue
        b = np.array(vals[base])
        for c in configs:
            if c == base or c not in vals:
                continue
            x = np.array(vals[c])
            p = None
            # Zero variance in both groups: decided on the difference alone (documented rule).
            equivalent = len(x) > 1 and len(b) > 1 and abs(np.mean(x) - np.mean(b)) < margin
            if len(x) > 1 and len(b) > 1 and (np.ptp(x) > 0 or np.ptp(b) > 0):
                p = ttost_ind(x, b, -margin, margin, usevar="unequal")[0]
                equivalent = p < args.alpha
            result["equivalence"].append({"metric": metric, "config": dict(zip(factors, c)),
                                          "margin": margin, "p": p,
                                          "equivalent": bool(equivalent)})
    return result


def jsonable(o):
    if isinstance(o, dict):
        return {k: jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, (bool, np.bool_)):
        return bool(o)
    if isinstance(o, (int, np.integer)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return clean(o)
    return o


def parser():
    p = argparse.ArgumentParser()
    p.add_argument("csv")
    p.add_argument("--factors", required=True)
    p.add_argument("--baseline", default="")
    p.add_argument("--metrics", default="energy_j,duration_s,avg_power_w,co2e_g,test_accuracy")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--equivalence", action="append", default=[])
    p.add_argument("--drop", action="append", default=[])
    return p


def sample_size(cv, effect, power, alpha):
    return {"runs_per_group": n_for_power(effect / 100 / cv, alpha, power)}


def batch(manifest_path, out_path):
    """Every case of the manifest (stats_reference_inputs) in this one process, written
    atomically to out_path: {"cases": {name: analysis}, "sample_sizes": {name: {...}}}."""
    with open(manifest_path) as f:
        manifest = json.load(f)
    out = {"cases": {}, "sample_sizes": {}}
    for case in manifest["cases"]:
        out["cases"][case["name"]] = analyze(parser().parse_args(case["args"].split()))
    for name, q in manifest["sample_sizes"].items():
        out["sample_sizes"][name] = sample_size(*q)
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(jsonable(out), f)
    os.replace(tmp, out_path)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--sample-size":
        print(json.dumps(sample_size(*map(float, sys.argv[2:6]))))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--batch":
        batch(sys.argv[2], sys.argv[3])
        return
    print(json.dumps(jsonable(analyze(parser().parse_args()))))


if __name__ == "__main__":
    main()
