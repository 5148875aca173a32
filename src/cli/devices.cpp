// `greentrain devices`: lists every meter this machine offers (GPUs through NVML, RAPL zones,
// the CPU and RAM estimates, a wall meter if --wall is given), what each measures and how, and
// why any expected meter is missing (no driver, no permission, a virtual machine); then the
// cuDNN library the CUDA backend's CNN path uses, or why there is none, one line per place tried.
#include <fmt/core.h>

#include <fstream>
#include <memory>

#include "cli/meter_options.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "energy/session.h"
#include "engine/cudnn_status.h"

namespace gt::cli {
namespace {

struct DevicesOptions {
  energy::MeterOptions meters;
  std::string json_path;
};

nlohmann::json to_json(const engine::CudnnStatus& s) {
  nlohmann::json j = {{"usable", s.usable}, {"tried", s.tried}};
  if (!s.absent.empty()) j["absent"] = s.absent;
  if (s.usable) {
    j["library"] = s.library;
    j["version"] = s.version;
    j["cuda"] = s.cuda;
  }
  return j;
}

void print_cudnn(const engine::CudnnStatus& s) {
  const char* what = "cuDNN (the CUDA backend's CNN path)";
  if (!s.absent.empty())
    fmt::print("{}: absent: {}\n", what, s.absent);
  else if (s.usable)
    fmt::print("{}: cuDNN {} for CUDA {}, {}\n", what, s.version, s.cuda, s.library);
  else
    fmt::print("{}: none usable (set GREENTRAIN_CUDNN_LIB to libcudnn.so.9 or its folder):\n",
               what);
  for (const std::string& line : s.tried) fmt::print("  {}\n", line);
}

int run_devices(const DevicesOptions& o) {
  energy::Session session(o.meters);
  nlohmann::json env = session.environment();
  const engine::CudnnStatus cudnn = engine::cudnn_status();
  env["cudnn"] = to_json(cudnn);
  if (!o.json_path.empty()) {
    std::ofstream out(o.json_path);
    if (!out) throw Error(fmt::format("--json {}: cannot open for writing", o.json_path));
    out << env.dump(2) << "\n";
  }
  fmt::print("meters used by greentrain measure on this machine:\n");
  for (const auto& m : env["meters"]) {
    std::string extra;
    const auto& d = m["details"];
    if (parse_component(m.value("component", "")) == Component::gpu) {
      extra = fmt::format("{} {}", d.value("name", ""), d.value("uuid", ""));
      if (d.contains("power_limit_w") && d["power_limit_w"].is_number())
        extra += fmt::format(", power limit {:g} W", d["power_limit_w"].get<double>());
      extra += ", driver " + env.value("nvml_driver", "");
    }
    fmt::print("  {:<5} {:<10} {:<9} {}{}\n", m["component"].get<std::string>(),
               m["device"].get<std::string>(), m["source"].get<std::string>(),
               m["model"].get<std::string>(), extra.empty() ? "" : "  [" + extra + "]");
  }
  const auto& cpu = env["cpu"];
  fmt::print("cpu: {} ({} socket(s), {} cores, {} logical CPUs)\n",
             cpu.value("model_name", "unknown"), cpu.value("sockets", 1),
             cpu.value("physical_cores", 0), cpu.value("logical_cpus", 0));
  for (const auto& z : env["rapl_zones"])
    if (!z.value("not_counted", "").empty())
      fmt::print("  rapl zone {} ({}) not counted: {}\n", z["zone"].get<std::string>(),
                 z["name"].get<std::string>(), z["not_counted"].get<std::string>());
  bool missing = false;
  auto report_missing = [&](const std::string& what, const std::string& why) {
    if (why.empty()) return;
    if (!missing) fmt::print("missing meters:\n");
    missing = true;
    fmt::print("  {}: {}\n", what, why);
  };
  if (o.meters.gpus != "none") report_missing("NVIDIA GPUs (NVML)", env.value("nvml_missing", ""));
  std::string rapl = env.value("rapl_missing", "");
  if (!rapl.empty() && cpu.value("hypervisor", false))
    rapl += "; this is a virtual machine (hypervisor CPU flag), which usually hides RAPL";
  report_missing("CPU/DRAM energy counters (RAPL)", rapl);
  report_missing("CPU/DRAM energy counters (RAPL)", env.value("rapl_permission", ""));
  if (o.meters.wall.empty())
    fmt::print("wall meter: none (add --wall cmd:... | http:...#/ptr | manual | file:<csv>)\n");
  print_cudnn(cudnn);
  return 0;
}

}  // namespace

void add_devices(CLI::App& app, Action& run) {
  auto opts = std::make_shared<DevicesOptions>();
  auto* sub = app.add_subcommand(
      "devices",
      "list the energy meters found, what they measure, and why any is missing; and the cuDNN "
      "library the CUDA CNN path uses (GREENTRAIN_CUDNN_LIB overrides the search)");
  add_meter_options(*sub, opts->meters);
  sub->add_option("--json", opts->json_path, "also write the environment snapshot as JSON");
  sub->callback([opts, &run] { run = [opts] { return run_devices(*opts); }; });
}

}  // namespace gt::cli
