// IDX data set → folder of JPEG/PNG files (see image_export.h).
#include "data/image_export.h"

#include <fmt/core.h>
#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/error.h"
#include "common/numbers.h"
#include "data/image_encode.h"
#include "data/loader.h"
#include "data/parallel.h"
#include "data/resize.h"
#include "data/source.h"

namespace gt::data {
namespace {

namespace fs = std::filesystem;

struct Job {
  const Dataset* source;
  int64_t row;
  std::string path;
};

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  out.close();
  if (!out) throw gt::Error(fmt::format("{}: cannot write", path));
}

// The temporary folder beside `out` that becomes `out` when complete (removed otherwise).
class StagingFolder {
 public:
  explicit StagingFolder(const fs::path& out) : out_(out) {
    std::error_code ec;
    if (fs::exists(fs::symlink_status(out, ec))) {
      if (!fs::is_directory(fs::symlink_status(out, ec)) || !fs::is_empty(out, ec))
        throw gt::UsageError(fmt::format(
            "--out {}: exists and is not an empty folder (choose a new one)", out.string()));
    }
    fs::path parent = out.parent_path();
    if (parent.empty()) parent = ".";
    if (!fs::is_directory(parent))
      throw gt::UsageError(
          fmt::format("--out {}: folder '{}' does not exist", out.string(), parent.string()));
    std::string name = (parent / ("." + out.filename().string() + ".tmp-XXXXXX")).string();
    if (!mkdtemp(name.data()))
      throw gt::Error(
          fmt::format("--out {}: cannot create a folder in '{}'", out.string(), parent.string()));
    path_ = name;
  }
  ~StagingFolder() {
    if (!done_) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;

  const fs::path& path() const { return path_; }
  void commit() {
    std::error_code ec;
    if (fs::is_directory(out_, ec)) fs::remove(out_, ec);  // empty, checked above
    fs::rename(path_, out_, ec);
    if (ec)
      throw gt::Error(fmt::format("--out {}: cannot rename the finished tree into place: {}",
                                  out_.string(), ec.message()));
    done_ = true;
  }

 private:
  fs::path out_, path_;
  bool done_ = false;
};

}  // namespace

std::string safe_folder_name(const std::string& class_name) {
  std::string out;
  for (unsigned char ch : class_name)
    out += (ch < 0x20 || ch == 0x7f || ch == '/' || ch == '\\') ? '_' : char(ch);
  while (!out.empty() && (out[0] == '.' || out[0] == ' ')) out.erase(0, 1);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "class" : out;
}

std::array<int, kSplits> split_counts(const std::string& text, int per_class) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  auto bad = [&](const std::string& why) {
    return gt::UsageError(
        fmt::format("--splits '{}': {} (expected train,valid,test as fractions "
                    "such as 0.8,0.1,0.1 or counts such as 800,100,100)",
                    text, why));
  };
  if (parts.size() != 3) throw bad("three values needed");
  if (per_class < 0) throw gt::UsageError(fmt::format("--per-class {} is negative", per_class));
  std::array<int, kSplits> counts{};
  const bool fractions = text.find('.') != std::string::npos;
  if (fractions) {
    std::array<double, kSplits> f{};
    double sum = 0;
    for (size_t i = 0; i < 3; ++i) {
      const auto v = parse_finite(parts[i]);
      if (!v || *v < 0 || *v > 1) throw bad("'" + parts[i] + "' is not a fraction");
      f[i] = *v;
      sum += *v;
    }
    if (std::fabs(sum - 1.0) > 1e-9) throw bad("the fractions must add up to 1");
    if (per_class == 0) throw gt::UsageError("--splits with fractions needs --per-class K");
    counts[0] = int(std::llround(per_class * f[0]));
    counts[1] = std::min(per_class - counts[0], int(std::llround(per_class * f[1])));
    counts[2] = per_class - counts[0] - counts[1];
    return counts;
  }
  int sum = 0;
  for (size_t i = 0; i < 3; ++i) {
    const auto v = parse_finite(parts[i]);
    if (!v || *v < 0 || *v != std::floor(*v) || *v > 1e8)
      throw bad("'" + parts[i] + "' is not a count");
    counts[i] = int(*v);
    sum += counts[i];
  }
  if (sum == 0) throw bad("no images asked for");
  if (per_class > 0 && sum != per_class)
    throw gt::UsageError(
        fmt::format("--per-class {} disagrees with --splits {} ({} images)", per_class, text, sum));
  return counts;
}

ImageExportReport export_image_folder(const ImageExportOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const DataSource src = parse_data_spec(o.from);
  if (src.kind != DataKind::fashion_mnist && src.kind != DataKind::mnist)
    throw gt::UsageError(
        fmt::format("--from '{}': expected an IDX data set (fashion-mnist or mnist:DIR)", o.from));
  if (o.out.empty()) throw gt::UsageError("--out DIR is required");
  if (o.size < 0 || o.size > 4096)
    throw gt::UsageError(fmt::format("--size {} is out of range (1 to 4096)", o.size));
  if (o.channels != 1 && o.channels != 3) throw gt::UsageError("--color must be rgb or grey");
  if (o.quality < 1 || o.quality > 100)
    throw gt::UsageError(fmt::format("--quality {} is out of range (1 to 100)", o.quality));
  std::array<int, kSplits> counts{};
  if (o.one_tree) {
    if (o.per_class <= 0) throw gt::UsageError("--layout tree needs --per-class K");
    counts = {o.per_class, 0, 0};
  } else {
    counts = split_counts(o.splits, o.per_class);
  }
  DataOptions d;
  d.spec = o.from;
  d.data_dir = o.data_dir;
  const Splits data = load_data(d);
  const Dataset& train = data.train;
  const Dataset& test = data.test;
  if (!train.is_image() || train.channels != 1)
    throw gt::Error(fmt::format("{}: not grey images of rows x columns", data.location));
  const int size_w = o.size > 0 ? o.size : train.width, size_h = o.size > 0 ? o.size : train.height;

  ImageExportReport report;
  std::set<std::string> seen;
  for (const auto& name : data.class_names) {
    report.class_folders.push_back(safe_folder_name(name));
    if (!seen.insert(report.class_folders.back()).second)
      throw gt::Error(
          fmt::format("two classes have the folder name '{}'", report.class_folders.back()));
  }
  const int classes = int(data.class_names.size());
  const int digits = int(std::to_string(std::max(train.rows, test.rows)).size());
  const char* ext = o.format == ImageFormat::png ? "png" : "jpg";
  const char* split_folder[kSplits] = {"train", "valid", "test"};
  StagingFolder staging(o.out);
  std::vector<Job> jobs;
  for (int c = 0; c < classes; ++c) {
    // Train and valid from the training file, test from the test file; first come first.
    std::array<int, kSplits> taken{};
    for (int s = 0; s < kSplits; ++s) {
      if (counts[size_t(s)] == 0) continue;
      const fs::path folder =
          o.one_tree ? staging.path() / report.class_folders[size_t(c)]
                     : staging.path() / split_folder[s] / report.class_folders[size_t(c)];
      fs::create_directories(folder);
      const Dataset& from = s == 2 ? test : train;
      int64_t row = 0;
      if (s == 1) {  // after the rows train took
        for (int skip = taken[0]; row < from.rows && skip > 0; ++row)
          if (from.labels[size_t(row)] == c) --skip;
      }
      for (; row < from.rows && taken[size_t(s)] < counts[size_t(s)]; ++row) {
        if (from.labels[size_t(row)] != c) continue;
        jobs.push_back(
            {&from, row, (folder / fmt::format("{:0{}}.{}", row, digits, ext)).string()});
        ++taken[size_t(s)];
      }
      if (taken[size_t(s)] < counts[size_t(s)])
        throw gt::Error(
            fmt::format("{} has only {} {} images of class '{}' left for {}/ ({} asked "
                        "for)",
                        data.location, taken[size_t(s)], s == 2 ? "test" : "training",
                        data.class_names[size_t(c)], o.one_tree ? "the tree" : split_folder[s],
                        counts[size_t(s)]));
      report.images[size_t(s)] += taken[size_t(s)];
    }
  }
  const int threads = worker_count(o.threads);
  std::vector<std::unique_ptr<ImageEncoder>> encoders(static_cast<size_t>(threads));
  std::vector<std::vector<uint8_t>> grey(static_cast<size_t>(threads)),
      rgb(static_cast<size_t>(threads));
  std::vector<std::vector<float>> scratch(static_cast<size_t>(threads));
  parallel_for(jobs.size(), threads, [&](size_t i, int w) {
    const auto k = size_t(w);
    if (!encoders[k]) encoders[k] = std::make_unique<ImageEncoder>();
    const Job& j = jobs[i];
    const Dataset& from = *j.source;
    grey[k].resize(size_t(size_w) * size_t(size_h));
    resize_image(from.u8.data() + size_t(j.row) * size_t(from.features), from.width, from.height, 1,
                 grey[k].data(), size_w, size_h, scratch[k]);
    const uint8_t* pixels = grey[k].data();
    if (o.channels == 3) {
      rgb[k].resize(grey[k].size() * 3);
      for (size_t p = 0; p < grey[k].size(); ++p)
        rgb[k][3 * p] = rgb[k][3 * p + 1] = rgb[k][3 * p + 2] = grey[k][p];
      pixels = rgb[k].data();
    }
    write_bytes(j.path,
                encoders[k]->encode(pixels, size_w, size_h, o.channels, o.format, o.quality));
  });
  staging.commit();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace gt::data
