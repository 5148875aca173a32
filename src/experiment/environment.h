// The environment snapshot stored with every experiment and session: greentrain version, host,
// OS, CPU model and cores, RAM, and what the energy session reports (GPUs, driver, power
// limits, CUDA version, meters and their sources). And the provenance of each run: the host,
// the Slurm node, job and array task, and the GPU board(s) the run could use, found by UUID.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "energy/nvml.h"
#include "experiment/cuda_uuids.h"
#include "experiment/store.h"

namespace gt::experiment {

nlohmann::json host_environment();  // everything except the energy part
std::string host_name();

// The GPUs a process with this CUDA_VISIBLE_DEVICES can use, as NVML boards. CUDA indices refer
// to CUDA's device order, not NVML's, so they are turned into UUIDs first:
//   mapping "all"         CUDA_VISIBLE_DEVICES unset: every NVML GPU
//   mapping "none"        set but empty (or NoDevFiles / -1): no GPU
//   mapping "uuid"        every entry is a UUID (GPU-...): matched as they are
//   mapping "cuda-driver" indices turned into UUIDs by the CUDA driver (cuDeviceGetUuid)
//   mapping "nvml-index"  no CUDA driver to ask: indices taken as NVML indices, which is right
//                         only when CUDA_DEVICE_ORDER=PCI_BUS_ID (the note says so otherwise)
// Entries NVML does not list (MIG instances, a GPU hidden from NVML) are left out with a note.
struct VisibleGpus {
  std::vector<energy::NvmlGpuInfo> gpus;
  std::string mapping;
  std::string note;  // a warning in words, or empty
};
VisibleGpus resolve_visible_gpus(const energy::NvmlProbe& probe,
                                 const std::optional<std::string>& cuda_visible_devices,
                                 const CudaUuids& cuda);
// The same from this process's environment (asks the CUDA driver only when needed).
VisibleGpus resolve_visible_gpus(const energy::NvmlProbe& probe);

// Provenance of a run on these GPUs in this process: host, Slurm node and ids from the
// environment (SLURMD_NODENAME, SLURM_JOB_ID, SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID).
RunProvenance current_provenance(const VisibleGpus& gpus);

// "GPU-a,GPU-b" for MeterOptions::gpus, so the energy session meters exactly these boards.
std::string uuid_list(const std::vector<energy::NvmlGpuInfo>& gpus);

}  // namespace gt::experiment
