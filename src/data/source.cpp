// Parsing of data set specifications (see source.h).
#include "data/source.h"

#include <fmt/core.h>

#include "common/error.h"

namespace gt::data {

std::string data_spec_forms(bool quoted) {
  const char* q = quoted ? "\"" : "";
  return fmt::format(
      "{0}fashion-mnist{0}, {0}mnist:DIR{0}, {0}csv:train.csv[,test.csv]{0} or "
      "{0}folder:DIR{0}",
      q);
}

DataSource parse_data_spec(const std::string& spec) {
  DataSource s;
  auto after = [&](const char* prefix) -> const char* {
    const std::string p(prefix);
    return spec.rfind(p, 0) == 0 ? spec.c_str() + p.size() : nullptr;
  };
  if (spec == "fashion-mnist") {
    s.kind = DataKind::fashion_mnist;
  } else if (spec == "mnist") {
    s.kind = DataKind::mnist;
  } else if (const char* dir = after("mnist:")) {
    s.kind = DataKind::mnist;
    s.dir = s.location = dir;
    if (s.dir.empty()) throw gt::UsageError("--data mnist: needs a directory: mnist:DIR");
  } else if (const char* files = after("csv:")) {
    s.kind = DataKind::csv;
    s.location = files;
    const auto comma = s.location.find(',');
    s.train_file = s.location.substr(0, comma);
    s.test_file = comma == std::string::npos ? "" : s.location.substr(comma + 1);
    if (s.train_file.empty())
      throw gt::UsageError("--data csv: needs a file: csv:train.csv[,test.csv]");
  } else if (const char* dir = after("folder:")) {
    s.kind = DataKind::image_folder;
    s.dir = s.location = dir;
    if (s.dir.empty()) throw gt::UsageError("--data folder: needs a directory: folder:DIR");
  } else {
    throw gt::UsageError(
        fmt::format("unknown --data '{}' (expected {})", spec, data_spec_forms(false)));
  }
  return s;
}

}  // namespace gt::data
