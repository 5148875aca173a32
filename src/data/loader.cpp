// --data resolution and the validation split (see loader.h).
#include "data/loader.h"

#include <fmt/core.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <future>

#include "common/error.h"
#include "data/csv.h"
#include "data/idx.h"
#include "data/source.h"

namespace gt::data {
namespace {

namespace fs = std::filesystem;

std::string find_idx(const std::string& dir, const std::string& stem) {
  // Both spellings are in use: train-images-idx3-ubyte and train-images.idx3-ubyte.
  std::string dotted = stem;
  dotted[dotted.rfind("-idx")] = '.';
  for (const char* suffix : {".gz", ""}) {
    for (const std::string& s : {stem, dotted}) {
      const fs::path p = fs::path(dir) / (s + suffix);
      if (fs::is_regular_file(p)) return p.string();
    }
  }
  throw gt::Error(fmt::format("{}: no {} or {}.gz", dir, stem, stem));
}

Splits load_idx_dir(const std::string& name, const std::string& dir) {
  if (!fs::is_directory(dir))
    throw gt::Error(fmt::format("data directory '{}' for {} does not exist", dir, name));
  Splits s;
  s.name = name;
  s.location = dir;
  const std::string train_images = find_idx(dir, "train-images-idx3-ubyte");
  const std::string train_labels = find_idx(dir, "train-labels-idx1-ubyte");
  const std::string test_images = find_idx(dir, "t10k-images-idx3-ubyte");
  const std::string test_labels = find_idx(dir, "t10k-labels-idx1-ubyte");
  // The test split decompresses on a second thread while this one does the (larger) training one.
  auto test =
      std::async(std::launch::async, [&] { return load_idx_pair(test_images, test_labels); });
  s.train = load_idx_pair(train_images, train_labels);
  s.test = test.get();
  if (s.test.features != s.train.features)
    throw gt::Error(fmt::format("{}: test images have {} features, training images {}", dir,
                                s.test.features, s.train.features));
  if (name == "fashion-mnist")
    s.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  else
    for (int c = 0; c < 10; ++c) s.class_names.push_back(std::to_string(c));
  return s;
}

}  // namespace

void split_validation(Dataset& all, double fraction, Dataset& validation) {
  const auto n_val = int64_t(std::llround(double(all.rows) * fraction));
  validation = all.slice(all.rows - n_val, n_val);
  all = all.slice(0, all.rows - n_val);
}

Splits load_data(const DataOptions& o) {
  if (!(o.validation >= 0.0 && o.validation <= 0.9))
    throw gt::UsageError(
        fmt::format("--validation {} is out of range (expected 0 to 0.9)", o.validation));
  Splits s;
  const DataSource src = parse_data_spec(o.spec);
  switch (src.kind) {
    case DataKind::fashion_mnist: {
      std::string dir = o.data_dir;
      if (dir.empty()) {
        const char* env = std::getenv("GREENTRAIN_DATA");
        dir = env && *env ? env : "/usr/share/datasets/fashion-mnist";
      }
      s = load_idx_dir("fashion-mnist", dir);
      break;
    }
    case DataKind::mnist:
      if (src.dir.empty() && o.data_dir.empty())
        throw gt::UsageError("--data mnist needs a directory: --data mnist:DIR or --data-dir DIR");
      s = load_idx_dir("mnist", src.dir.empty() ? o.data_dir : src.dir);
      break;
    case DataKind::csv: {
      CsvSets c = load_csv(src.train_file, src.test_file, o.label_column);
      s.name = "csv";
      s.location = src.location;
      s.train = std::move(c.train);
      s.test = std::move(c.test);
      s.class_names = std::move(c.class_names);
      break;
    }
    case DataKind::image_folder: {
      ImageFolderData f = load_image_folder(src.dir, o.validation, o.images);
      s.name = "folder";
      s.location = src.dir;
      s.train = std::move(f.train);
      s.validation = std::move(f.validation);
      s.test = std::move(f.test);
      s.class_names = std::move(f.class_names);
      s.images = std::move(f.report);
      if (s.train.rows == 0)
        throw gt::Error(fmt::format("{}: the training set is empty", s.location));
      return s;  // the validation split is the folder's own, or held out per class
    }
  }
  if (o.validation > 0) split_validation(s.train, o.validation, s.validation);
  if (s.train.rows == 0) throw gt::Error(fmt::format("{}: the training set is empty", s.location));
  return s;
}

std::optional<ImageFolderReport> prepare_data(const DataOptions& o) {
  if (parse_data_spec(o.spec).kind != DataKind::image_folder) return std::nullopt;
  return load_data(o).images;
}

}  // namespace gt::data
