// The environment snapshot stored with every experiment and session: greentrain version, host,
// OS, CPU model and cores, RAM, and what the energy session reports (GPUs, driver, power
// limits, CUDA version, meters and their sources).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace gt::experiment {

nlohmann::json host_environment();  // everything except the energy part
std::string host_name();

}  // namespace gt::experiment
