// Session (contract 1): skeleton; meters are filled in by the other files of this folder.
#include "energy/session.h"

#include <chrono>

#include "common/error.h"

namespace gt::energy {

struct Session::Impl {
  MeterOptions options;
  std::chrono::steady_clock::time_point t0;
  bool interrupted = false;
};

Session::Session(const MeterOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
}
Session::~Session() = default;
nlohmann::json Session::environment() const { return nlohmann::json::object(); }
void Session::measure_idle(double) {}
void Session::start() { impl_->t0 = std::chrono::steady_clock::now(); }
Summary Session::stop() {
  Summary s;
  s.duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->t0).count();
  s.interrupted = impl_->interrupted;
  return s;
}
void Session::mark_interrupted() { impl_->interrupted = true; }

}  // namespace gt::energy
