// Parallel lanes (see lanes.h): the boards of --gpus and a small scheduler, one thread per busy
// lane, the caller's thread waiting for whichever lane finishes first.
#include "experiment/lanes.h"

#include <fmt/core.h>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "common/error.h"

namespace gt::experiment {

std::vector<LaneGpu> lane_gpus(const energy::NvmlProbe& probe, const std::string& spec) {
  if (probe.gpus.empty())
    throw gt::UsageError(
        fmt::format("--gpus {}: no GPU to run lanes on ({})", spec, probe.missing_reason));
  std::vector<LaneGpu> out;
  std::set<std::string> seen;
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    if (item.empty()) continue;
    const energy::NvmlGpuInfo* found = nullptr;
    for (const auto& g : probe.gpus)
      if (item == std::to_string(g.index) || item == g.uuid ||
          (item.size() > 8 && g.uuid.rfind(item, 0) == 0))
        found = &g;
    if (!found)
      throw gt::UsageError(fmt::format(
          "--gpus {}: no GPU '{}' (NVML lists {} GPU(s): {})", spec, item, probe.gpus.size(), [&] {
            std::string l;
            for (const auto& g : probe.gpus)
              l += (l.empty() ? "" : ", ") + fmt::format("{} {}", g.index, g.uuid);
            return l;
          }()));
    if (!seen.insert(found->uuid).second)
      throw gt::UsageError(
          fmt::format("--gpus {}: GPU '{}' is named twice (one lane per board)", spec, item));
    out.push_back({static_cast<int>(out.size()), *found});
  }
  if (out.empty()) throw gt::UsageError(fmt::format("--gpus '{}': name at least one GPU", spec));
  return out;
}

void run_in_lanes(int count, int lanes, const std::function<void(int, int)>& work,
                  const std::function<bool()>& stop) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<bool> busy(static_cast<size_t>(lanes), false);
  std::vector<std::thread> threads(static_cast<size_t>(lanes));
  std::exception_ptr error;
  int next = 0;
  std::unique_lock lock(mu);
  while (true) {
    const bool starting = next < count && !error && !stop();
    for (int l = 0; starting && l < lanes && next < count; ++l) {
      if (busy[l]) continue;
      if (threads[l].joinable()) threads[l].join();
      busy[l] = true;
      const int item = next++;
      threads[l] = std::thread([&, item, l] {
        std::exception_ptr e;
        try {
          work(item, l);
        } catch (...) {
          e = std::current_exception();
        }
        std::lock_guard g(mu);
        if (e && !error) error = e;
        busy[l] = false;
        cv.notify_all();
      });
    }
    bool any_busy = false;
    for (bool b : busy) any_busy |= b;
    if (!any_busy && (next >= count || error || stop())) break;
    // Wake when a lane finishes, or now and then to notice stop().
    cv.wait_for(lock, std::chrono::milliseconds(50));
  }
  lock.unlock();
  for (auto& t : threads)
    if (t.joinable()) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace gt::experiment
