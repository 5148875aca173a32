// Writes the synthetic report pages the end-to-end test loads in headless Chromium: the full
// experiment, one with failed runs, a single configuration, one without GPU data, one on a busy
// machine, one with epochs and a target accuracy (and the Markdown of the full one). Usage:
// report_fixture OUT_DIR. Prints the paths it wrote.
#include <cstdio>
#include <filesystem>
#include <string>

#include "report/writers.h"
#include "synthetic.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: report_fixture OUT_DIR\n");
    return 2;
  }
  namespace t = gt::report::testing;
  std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  const std::pair<const char*, gt::report::ReportData> pages[] = {
      {"full", t::full_experiment()},        {"failed", t::with_failed_runs()},
      {"single", t::single_configuration()}, {"nogpu", t::without_gpu()},
      {"busy", t::busy_machine()},           {"epochs", t::epochs_experiment()}};
  for (const auto& [name, data] : pages) {
    auto path = (dir / (std::string(name) + ".html")).string();
    gt::report::write_file(path, gt::report::render_html(data));
    std::printf("%s\n", path.c_str());
  }
  gt::report::write_file((dir / "full.md").string(),
                         gt::report::render_markdown(t::full_experiment()));
  return 0;
}
