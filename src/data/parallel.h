// parallel_for: the data module's one way of spreading work over threads (decoding and encoding
// images). Tasks take an index and the worker's number, so each worker can keep its own
// decoder and buffers; an exception stops the work and is rethrown in the caller.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace gt::data {

// The worker count for `requested` threads (0: every core).
inline int worker_count(int requested) {
  return requested > 0 ? requested : std::max(1, int(std::thread::hardware_concurrency()));
}

// Runs task(i, worker) for every i in [0, n) on `threads` threads (the caller's is worker 0).
template <class Task>
void parallel_for(size_t n, int threads, Task task) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&](int w) {
    try {
      for (size_t i = next++; i < n && !stop; i = next++) task(i, w);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(worker, w);
  worker(0);
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace gt::data
