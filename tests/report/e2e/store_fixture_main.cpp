// Writes the synthetic experiments as results databases for the command-line end-to-end test:
// report_store_fixture OUT_DIR → OUT_DIR/{full,failed,single,nogpu,epochs}.db.
#include <cstdio>
#include <filesystem>
#include <string>

#include "store_fixture.h"
#include "synthetic.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: report_store_fixture OUT_DIR\n");
    return 2;
  }
  namespace t = gt::report::testing;
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  const std::pair<const char*, gt::report::ReportData> dbs[] = {
      {"full", t::full_experiment()},
      {"failed", t::with_failed_runs()},
      {"single", t::single_configuration()},
      {"nogpu", t::without_gpu()},
      {"epochs", t::epochs_experiment()}};
  for (const auto& [name, data] : dbs) {
    auto path = dir / (std::string(name) + ".db");
    std::filesystem::remove(path);
    t::write_store(data, path.string());
  }
  return 0;
}
