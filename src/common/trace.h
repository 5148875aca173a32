// Where a short run's wall time goes: with GREENTRAIN_TRACE set (non-empty, not 0), trace_point()
// writes "greentrain-trace <pid> <monotonic seconds> <what>" on stderr, so the points of the
// metered parent and of its child (one clock for both) line up: process start, meters ready,
// child started, phases, child exited, window closed, output written. Off by default; the
// environment is read once.
#pragma once

namespace gt {

void trace_point(const char* what);

}  // namespace gt
