// Every file greentrain writes for the user (export --csv, analyze -o, report --html/--md,
// experiment init) goes through write_output_file, so a mistaken path cannot destroy data:
//   - the content goes to a temporary file beside the target, which is then renamed over it, so
//     a failure (disk full, a kill) leaves the old file whole and no half-written one;
//   - an existing target that is not a regular file (a symlink, a FIFO, a device such as
//     /dev/full, a directory) is refused, never replaced;
//   - a target that is one of `protected_paths` (the results database being read, and its -wal,
//     -shm and -journal files) is refused, whatever path spelling names it;
//   - a missing directory is an error, never a silent success.
// Every refusal is a gt::Error with one line naming the path and the reason.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace gt {

void write_output_file(const std::string& path, std::string_view content,
                       const std::vector<std::string>& protected_paths = {});

}  // namespace gt
