// Synthetic ReportData for the report's tests: a 3-precision × 2-batch-size experiment with
// five repeats in blocks, per-component energy (measured GPU and wall, estimated CPU and RAM),
// power samples and the stats::Analysis of those runs (what `greentrain report` computes); plus
// the degenerate cases (failed runs, a single configuration, no GPU data) and a busy machine.
// Deterministic: a fixed seed.
#pragma once
#include "report/report_data.h"

namespace gt::report::testing {

ReportData full_experiment();
ReportData with_failed_runs();      // a configuration whose every run failed, others partly
ReportData single_configuration();  // one configuration, no analysis (analyze refuses it)
ReportData without_gpu();           // CPU/RAM estimates only, no wall meter, no accuracy
// The full experiment on a busy machine: its idle baseline measured while 55 % of the CPU was
// busy, run 9 beside a CPU hog (45 % of the CPU busy outside it), CPU and RAM attributed to the
// run's processes (a third of the machine's energy).
ReportData busy_machine();
// A command workload that marks `epoch` windows and reports val_accuracy in each, with the
// plan's target accuracy 0.86: fp32 reaches it in epoch 4, bf16 in epoch 5, bf16 · batch 128 in
// epoch 6 except in blocks 2 and 4, where it never does (8 epochs). Each run carries the
// energy_to_target_j, epochs_to_target and target_reached these accuracies give.
ReportData epochs_experiment();

}  // namespace gt::report::testing
