// trace_point (see trace.h).
#include "common/trace.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace gt {

void trace_point(const char* what) {
  static const bool on = [] {
    const char* env = std::getenv("GREENTRAIN_TRACE");
    return env && *env && !(env[0] == '0' && env[1] == '\0');
  }();
  if (!on) return;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  std::fprintf(stderr, "greentrain-trace %d %.6f %s\n", int(getpid()),
               double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec), what);
}

}  // namespace gt
