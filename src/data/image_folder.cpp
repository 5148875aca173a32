// Listing an image folder and assigning files to splits (see image_folder.h).
#include "data/image_folder.h"

#include <fmt/core.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <tuple>

#include "common/error.h"

namespace gt::data {
namespace {

namespace fs = std::filesystem;

bool hidden(const std::string& name) { return name.empty() || name[0] == '.'; }

// The names of the entries of `dir` (hidden ones left out), sorted by their bytes.
std::vector<std::string> entries(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec)
    throw gt::Error(fmt::format("{}: cannot read the folder: {}", dir.string(), ec.message()));
  std::vector<std::string> names;
  for (; it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!hidden(name)) names.push_back(name);
  }
  if (ec)
    throw gt::Error(fmt::format("{}: cannot read the folder: {}", dir.string(), ec.message()));
  std::sort(names.begin(), names.end());
  return names;
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);  // follows symbolic links
}

// The class folders of a split folder (or of a one-tree root).
std::vector<std::string> class_folders(const fs::path& dir) {
  std::vector<std::string> classes;
  for (const auto& name : entries(dir))
    if (is_dir(dir / name)) classes.push_back(name);
  return classes;
}

// Every file candidate of one class folder, in name order.
std::vector<ImageFile> class_files(const fs::path& folder, const std::string& relative_folder,
                                   int label, Split split) {
  std::vector<ImageFile> files;
  for (const auto& name : entries(folder)) {
    const fs::path p = folder / name;
    ImageFile f;
    f.path = p.string();
    f.relative = relative_folder + "/" + name;
    f.label = label;
    f.split = split;
    struct stat st {};
    if (stat(f.path.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;  // a folder inside a class folder is not an image
      f.size = uint64_t(st.st_size);
      f.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    }  // else: a dangling link or the like; reading it will say why
    files.push_back(std::move(f));
  }
  return files;
}

// splitmix64: a tiny portable generator, so a seed gives the same split everywhere.
uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t hash_text(const std::string& s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Moves `test` and `validation` fractions of one class's files (in name order) to those splits
// by a shuffle seeded with the seed and the class name; the result is in name order again.
void split_class(std::vector<ImageFile>& files, const std::string& class_name, double validation,
                 double test, uint64_t seed) {
  const size_t n = files.size();
  size_t n_test = size_t(std::llround(double(n) * test));
  size_t n_val = size_t(std::llround(double(n) * validation));
  n_test = std::min(n_test, n);
  n_val = std::min(n_val, n - n_test);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  uint64_t state = seed ^ hash_text(class_name);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[splitmix(state) % i]);
  for (size_t k = 0; k < n; ++k)
    files[order[k]].split = k < n_test           ? Split::test
                            : k < n_test + n_val ? Split::validation
                                                 : Split::train;
}

void check_fraction(double v, const char* what) {
  if (!(v >= 0.0 && v <= 0.9))
    throw gt::UsageError(fmt::format("{} {} is out of range (expected 0 to 0.9)", what, v));
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 5) out += fmt::format(" and {} more", names.size() - 5);
  return out;
}

}  // namespace

const char* split_name(Split s) {
  switch (s) {
    case Split::train:
      return "train";
    case Split::validation:
      return "validation";
    case Split::test:
      return "test";
  }
  return "?";
}

FolderListing list_image_folder(const std::string& root_text, const SplitRule& rule) {
  check_fraction(rule.validation, "--validation");
  check_fraction(rule.test, "--test-fraction");
  if (rule.validation + rule.test > 0.9)
    throw gt::UsageError(
        fmt::format("--validation {} and --test-fraction {} leave too little for "
                    "training (their sum must be at most 0.9)",
                    rule.validation, rule.test));
  const fs::path root(root_text);
  if (!is_dir(root)) throw gt::Error(fmt::format("{}: no such folder", root_text));
  FolderListing l;
  l.root = root_text;
  l.split_layout = is_dir(root / "train");
  // (folder name, split) of each split present, train first.
  std::vector<std::pair<std::string, Split>> splits;
  if (l.split_layout) {
    splits.emplace_back("train", Split::train);
    const bool valid = is_dir(root / "valid"), val = is_dir(root / "val");
    if (valid && val)
      throw gt::Error(
          fmt::format("{}: has both valid/ and val/; keep one validation folder", root_text));
    if (valid || val) {
      if (rule.validation > 0)
        throw gt::UsageError(fmt::format("--validation {}: {} has its own {}/ folder",
                                         rule.validation, root_text, valid ? "valid" : "val"));
      splits.emplace_back(valid ? "valid" : "val", Split::validation);
    }
    if (is_dir(root / "test")) splits.emplace_back("test", Split::test);
  } else {
    splits.emplace_back("", Split::train);
  }
  for (const auto& [folder, split] : splits) {
    const fs::path dir = folder.empty() ? root : root / folder;
    std::vector<std::string> classes = class_folders(dir);
    if (split == Split::train) {
      if (classes.empty())
        throw gt::Error(fmt::format("{}: no class folders (expected {}/<class>/<image>)",
                                    dir.string(), dir.string()));
      l.classes = classes;
    } else if (classes != l.classes) {
      std::vector<std::string> missing, extra;
      std::set_difference(l.classes.begin(), l.classes.end(), classes.begin(), classes.end(),
                          std::back_inserter(missing));
      std::set_difference(classes.begin(), classes.end(), l.classes.begin(), l.classes.end(),
                          std::back_inserter(extra));
      throw gt::Error(fmt::format(
          "{}: its class folders differ from those of {}{}{} (the splits must have the same "
          "classes)",
          dir.string(), (root / "train").string(),
          missing.empty() ? "" : "; missing: " + joined(missing),
          extra.empty() ? "" : "; not in train: " + joined(extra)));
    }
    for (size_t c = 0; c < classes.size(); ++c) {
      const std::string rel = folder.empty() ? classes[c] : folder + "/" + classes[c];
      std::vector<ImageFile> files = class_files(dir / classes[c], rel, int(c), split);
      if (files.empty()) l.empty_class_folders.push_back((dir / classes[c]).string());
      if (!l.split_layout)
        split_class(files, classes[c], rule.validation, rule.test, rule.seed);
      else if (split == Split::train && rule.validation > 0)
        split_class(files, classes[c], rule.validation, 0.0, rule.seed);
      for (auto& f : files) l.files.push_back(std::move(f));
    }
  }
  std::stable_sort(l.files.begin(), l.files.end(), [](const ImageFile& a, const ImageFile& b) {
    return std::tie(a.split, a.label) < std::tie(b.split, b.label);
  });
  return l;
}

}  // namespace gt::data
