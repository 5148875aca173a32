"""Reference for the log-ratio interval (src/stats/ratio.cpp): Welch's t interval on log values,
back-transformed to percent. SciPy's ttest_ind(equal_var=False).confidence_interval where this
SciPy has it (1.11+), else statsmodels' CompareMeans.tconfint_diff(usevar="unequal"). Input on stdin: JSON {"x": [...], "y": [...], "alpha": a}.
Output: JSON {"pct", "pct_low", "pct_high", "df"}."""
import json
import sys

import numpy as np
from scipy import stats
from statsmodels.stats.weightstats import CompareMeans

q = json.load(sys.stdin)
lx, ly = np.log(q["x"]), np.log(q["y"])
res = stats.ttest_ind(lx, ly, equal_var=False)
if hasattr(res, "confidence_interval"):
    ci = res.confidence_interval(confidence_level=1 - q["alpha"])
    low, high, df = ci.low, ci.high, res.df
else:
    cm = CompareMeans.from_data(lx, ly)
    low, high = cm.tconfint_diff(alpha=q["alpha"], usevar="unequal")
    df = cm.ttest_ind(usevar="unequal")[2]
d = lx.mean() - ly.mean()
print(json.dumps({"pct": float(np.expm1(d) * 100), "pct_low": float(np.expm1(low) * 100),
                  "pct_high": float(np.expm1(high) * 100), "df": float(df)}))
