// The inputs of the stats_reference fixture: writes the runs table of every reference case
// (reference_support.h) into OUT_DIR and a manifest naming each with the arguments reference.py
// takes, so that `reference.py --batch` computes every reference in one Python process, once
// per test run. Usage: stats_reference_inputs OUT_DIR.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "reference_support.h"

int main(int argc, char** argv) {
  using namespace gt::stats::testing;
  if (argc != 2) {
    std::fprintf(stderr, "usage: stats_reference_inputs OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  json manifest = {{"cases", json::array()}, {"sample_sizes", json::object()}};
  for (const auto& c : reference_cases()) {
    const auto csv = dir / (c.name + ".csv");
    write_csv_to(c.design, csv);
    std::string args = csv.string() + " --factors precision,batch_size,neurons --baseline " +
                       kReferenceBaseline + " --equivalence test_accuracy:0.005";
    if (!c.extra_args.empty()) args += " " + c.extra_args;
    manifest["cases"].push_back({{"name", c.name}, {"args", args}});
  }
  for (const auto& [name, q] : reference_sample_sizes())
    manifest["sample_sizes"][name] = {q[0], q[1], q[2], q[3]};
  std::ofstream(dir / "manifest.json") << manifest.dump(2) << "\n";
  return 0;
}
