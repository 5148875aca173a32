// The data flags shared by `greentrain train` and `greentrain data prepare` (--data, --data-dir,
// --label-column, --validation, and for image folders --image-size, --color, --bad-images,
// --cache-dir, --test-fraction, --split-seed), the same flags rebuilt for a child process, and
// the lines that say what loading an image folder did.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "data/loader.h"

namespace gt::cli {

void add_data_options(CLI::App& cmd, data::DataOptions& options);

// The flags that give a child `greentrain train` the same data options.
std::vector<std::string> data_option_args(const data::DataOptions& options);

// To stderr: one line on the cache (decoded or reused) unless `quiet`, then one line per image
// skipped and per note, always.
void print_image_report(const data::ImageFolderReport& report, bool quiet);

}  // namespace gt::cli
