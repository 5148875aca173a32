// Synthetic ReportData for the report's tests: a 3-precision × 2-batch-size experiment with
// five repeats in blocks, per-component energy (measured GPU and wall, estimated CPU and RAM),
// power samples and the stats::Analysis of those runs (what `greentrain report` computes); plus
// the degenerate cases (failed runs, a single configuration, no GPU data). Deterministic: a
// fixed seed.
#pragma once
#include "report/report_data.h"

namespace gt::report::testing {

ReportData full_experiment();
ReportData with_failed_runs();      // a configuration whose every run failed, others partly
ReportData single_configuration();  // one configuration, no analysis (analyze refuses it)
ReportData without_gpu();           // CPU/RAM estimates only, no wall meter, no accuracy

}  // namespace gt::report::testing
