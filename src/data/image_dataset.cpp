// Loading an image folder through the decoded-image cache (see image_dataset.h): listing, cache
// key, lock, parallel header and decode passes into the cache file, statistics, reading back.
#include "data/image_dataset.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/sha256.h"
#include "data/image_decode.h"
#include "data/parallel.h"
#include "data/resize.h"

namespace gt::data {
namespace {

namespace fs = std::filesystem;

// Bumped whenever decoding, resizing or the file layout changes what a cache holds.
constexpr const char* kCacheFormat = "greentrain image cache 1 (area/bilinear resize 1)";

// The settings that shape a cache (the split rule matters to one-tree folders only).
std::string settings_text(const ImageOptions& o, double validation) {
  return fmt::format("size {} color {} bad-images {} validation {} test-fraction {} split-seed {}",
                     o.size, to_string(o.color), to_string(o.bad_images), validation,
                     o.test_fraction, o.split_seed);
}

// What a cache is made from: format and codecs, settings, and every listed file.
std::string cache_key(const FolderListing& l, const std::string& settings) {
  std::string text = fmt::format("{}\n{}\n{}\n", kCacheFormat, codec_versions(), settings);
  for (const auto& c : l.classes) text += fmt::format("class {} {}\n", c.size(), c);
  for (const auto& f : l.files)
    text += fmt::format("file {} {} {} {} {} {}\n", int(f.split), f.label, f.size, f.mtime_ns,
                        f.relative.size(), f.relative);
  return sha256_hex(text);
}

// The cache files of one folder with one set of settings share this prefix: a name a person
// can recognise, then a hash of the folder's absolute path and the settings.
std::string cache_prefix(const std::string& root, const std::string& settings) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(root), ec);
  if (ec) abs = fs::absolute(root);
  std::string base;
  for (unsigned char ch : abs.filename().string())
    if (std::isalnum(ch) || ch == '-' || ch == '_') base += char(ch);
  if (base.empty()) base = "images";
  if (base.size() > 40) base.resize(40);
  return base + "-" + sha256_hex(abs.string() + "\n" + settings).substr(0, 12) + "-";
}

// An exclusive lock on `path` (created if needed) while the object lives.
class FileLock {
 public:
  explicit FileLock(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw gt::Error(
          fmt::format("{}: cannot create the cache lock: {}", path, std::strerror(errno)));
    while (flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) {
        const std::string why = std::strerror(errno);
        ::close(fd_);
        throw gt::Error(fmt::format("{}: cannot lock the cache: {}", path, why));
      }
  }
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// Removes the files of `dir` whose names start with `prefix`, except `keep`, that are caches
// (.gtimg) or temporaries left by a killed writer (.gtimg.tmp-*). Called under the lock.
void remove_other_caches(const std::string& dir, const std::string& prefix,
                         const std::string& keep) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == keep || name.rfind(prefix, 0) != 0) continue;
    const bool cache = name.size() > 6 && name.compare(name.size() - 6, 6, ".gtimg") == 0;
    if (cache || name.find(".gtimg.tmp-") != std::string::npos) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
}

// Reads a whole file into `out` (reused between calls).
void read_file(const std::string& path, std::vector<uint8_t>& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw gt::Error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw gt::Error(fmt::format("{}: not a regular file", path));
  }
  out.resize(size_t(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = n < 0 ? std::strerror(errno) : "the file shrank while being read";
      ::close(fd);
      throw gt::Error(fmt::format("{}: cannot read: {}", path, why));
    }
    done += size_t(n);
  }
  ::close(fd);
}

std::string first_error(const std::vector<std::string>& errors) {
  size_t count = 0;
  const std::string* first = nullptr;
  for (const auto& e : errors)
    if (!e.empty() && ++count == 1) first = &e;
  if (!first) return "";
  if (count == 1) return *first;
  return fmt::format("{} (and {} more bad image{}; --bad-images skip leaves them out)", *first,
                     count - 1, count == 2 ? "" : "s");
}

struct Shape {
  int width = 0, height = 0, channels = 0;
};

// The output shape: --image-size or the one size every image has; --color or what they hold.
Shape choose_shape(const FolderListing& l, const ImageOptions& o,
                   const std::vector<ImageHeader>& headers, const std::vector<uint8_t>& ok) {
  Shape s;
  s.width = s.height = o.size;
  bool any_colour = false;
  const ImageFile* first = nullptr;
  for (size_t i = 0; i < l.files.size(); ++i) {
    if (!ok[i]) continue;
    any_colour = any_colour || headers[i].colour;
    if (o.size > 0) continue;
    if (!first) {
      first = &l.files[i];
      s.width = headers[i].width;
      s.height = headers[i].height;
    } else if (headers[i].width != s.width || headers[i].height != s.height) {
      throw gt::UsageError(
          fmt::format("{}: the images differ in size ({} is {}x{}, {} is {}x{}); choose one with "
                      "--image-size N",
                      l.root, first->path, s.width, s.height, l.files[i].path, headers[i].width,
                      headers[i].height));
    }
  }
  s.channels = o.color == ColorMode::rgb ? 3 : o.color == ColorMode::grey ? 1 : any_colour ? 3 : 1;
  return s;
}

// Per-image channel sums (sum, sum of squares) for the statistics.
using ChannelSums = std::array<uint64_t, 6>;

ChannelSums channel_sums(const uint8_t* p, size_t pixels, int channels) {
  ChannelSums s{};
  for (size_t i = 0; i < pixels; ++i)
    for (int c = 0; c < channels; ++c) {
      const uint64_t v = p[i * size_t(channels) + size_t(c)];
      s[size_t(c)] += v;
      s[size_t(3 + c)] += v * v;
    }
  return s;
}

// Decodes the listing into a new cache file; returns its path.
std::string build_cache(const FolderListing& l, const ImageOptions& o, const std::string& key,
                        const std::string& settings, const std::string& cache_dir,
                        const std::string& file_name, ImageFolderReport& report) {
  const size_t n = l.files.size();
  const int threads = worker_count(o.threads);
  std::vector<std::string> errors(n);
  std::vector<uint8_t> ok(n, 1);  // bytes, not bits: threads write neighbouring entries
  std::vector<ImageHeader> headers(n);
  const auto workers = static_cast<size_t>(threads);
  std::vector<std::unique_ptr<ImageDecoder>> decoders(workers);
  std::vector<std::vector<uint8_t>> buffers(workers);
  auto decoder = [&](int w) -> ImageDecoder& {
    auto& d = decoders[size_t(w)];
    if (!d) d = std::make_unique<ImageDecoder>();
    return *d;
  };
  auto fail_now = [&] {
    if (o.bad_images == BadImagePolicy::fail)
      if (const std::string e = first_error(errors); !e.empty()) throw gt::Error(e);
  };
  // Pass 1, only when the size or the colour mode depends on the images: every header.
  Shape shape{o.size, o.size, o.color == ColorMode::rgb ? 3 : 1};
  if (o.size == 0 || o.color == ColorMode::automatic) {
    parallel_for(n, threads, [&](size_t i, int w) {
      try {
        read_file(l.files[i].path, buffers[size_t(w)]);
        headers[i] = decoder(w).header(buffers[size_t(w)].data(), buffers[size_t(w)].size(),
                                       l.files[i].path);
      } catch (const gt::Error& e) {
        errors[i] = e.what();
        ok[i] = 0;
      }
    });
    fail_now();
    shape = choose_shape(l, o, headers, ok);
  }
  std::vector<size_t> slot(n, 0);
  size_t slots = 0;
  for (size_t i = 0; i < n; ++i)
    if (ok[i]) slot[i] = slots++;
  if (slots == 0) throw gt::Error(fmt::format("{}: no readable images", l.root));
  const size_t sample = size_t(shape.width) * size_t(shape.height) * size_t(shape.channels);
  CacheWriter writer(cache_dir, file_name, uint64_t(slots) * sample);
  // Pass 2: decode, resize, convert, straight into the cache file.
  std::vector<ChannelSums> sums(n);
  std::vector<DecodedImage> images(workers);
  std::vector<std::vector<float>> scratch(workers);
  std::atomic<bool> failed{false};
  parallel_for(n, threads, [&](size_t i, int w) {
    if (!ok[i] || (failed && o.bad_images == BadImagePolicy::fail)) return;
    try {
      auto& buffer = buffers[size_t(w)];
      auto& image = images[size_t(w)];
      read_file(l.files[i].path, buffer);
      decoder(w).decode(buffer.data(), buffer.size(), shape.channels, shape.width, shape.height,
                        l.files[i].path, image);
      uint8_t* out = writer.images() + slot[i] * sample;
      resize_image(image.pixels.data(), image.width, image.height, shape.channels, out, shape.width,
                   shape.height, scratch[size_t(w)]);
      sums[i] = channel_sums(out, size_t(shape.width) * size_t(shape.height), shape.channels);
    } catch (const gt::Error& e) {
      errors[i] = e.what();
      ok[i] = 0;
      failed = true;
    }
  });
  fail_now();
  // Skipped images leave holes: move the later images down (in order, never overlapping badly).
  CacheHeader h;
  std::array<std::vector<int32_t>, kSplits> labels;
  size_t kept = 0;
  std::array<uint64_t, 6> train_sums{};
  uint64_t train_images = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!ok[i]) {
      report.skipped.push_back({l.files[i].path, errors[i]});
      continue;
    }
    if (slot[i] != kept)
      std::memmove(writer.images() + kept * sample, writer.images() + slot[i] * sample, sample);
    ++kept;
    const int s = int(l.files[i].split);
    labels[size_t(s)].push_back(l.files[i].label);
    ++h.splits[size_t(s)].rows;
    if (l.files[i].split == Split::train) {
      for (size_t k = 0; k < 6; ++k) train_sums[k] += sums[i][k];
      ++train_images;
    }
  }
  report.decoded = int64_t(kept);
  if (h.splits[0].rows == 0)
    throw gt::Error(fmt::format("{}: no readable training images", l.root));
  h.key = key;
  h.height = shape.height;
  h.width = shape.width;
  h.channels = shape.channels;
  h.class_names = l.classes;
  const double count = double(train_images) * shape.width * shape.height;
  for (int c = 0; c < shape.channels; ++c) {
    const double mean = double(train_sums[size_t(c)]) / count / 255.0;
    const double meansq = double(train_sums[size_t(3 + c)]) / count / (255.0 * 255.0);
    const double sd = std::sqrt(std::max(0.0, meansq - mean * mean));
    h.mean.push_back(float(mean));
    h.stddev.push_back(sd > 0 ? float(sd) : 1.0f);  // a constant channel is only centred
  }
  h.skipped = report.skipped;
  h.source = l.root;
  h.settings = settings;
  h.codecs = codec_versions();
  return writer.commit(h, labels);
}

Dataset split_dataset(const CacheContents& c, int s) {
  const CacheHeader& h = c.header;
  const CacheSplit& cs = h.splits[size_t(s)];
  Dataset d;
  d.rows = cs.rows;
  d.height = h.height;
  d.width = h.width;
  d.channels = h.channels;
  d.features = h.height * h.width * h.channels;
  d.classes = int(h.class_names.size());
  d.scale = 1.0f / 255.0f;
  d.mean = h.mean;
  d.stddev = h.stddev;
  if (cs.rows > 0)
    d.u8 = mapped_bytes(c.file, cs.images_offset, uint64_t(cs.rows) * h.sample_bytes());
  const auto* labels = reinterpret_cast<const int32_t*>(c.file->data() + cs.labels_offset);
  d.labels.assign(labels, labels + cs.rows);
  return d;
}

ImageFolderData from_cache(const CacheContents& c, const std::string& path,
                           ImageFolderReport report) {
  ImageFolderData out;
  out.train = split_dataset(c, 0);
  out.validation = split_dataset(c, 1);
  out.test = split_dataset(c, 2);
  out.class_names = c.header.class_names;
  report.cache_path = path;
  report.skipped = c.header.skipped;
  out.report = std::move(report);
  return out;
}

}  // namespace

ColorMode parse_color_mode(const std::string& text) {
  if (text == "auto") return ColorMode::automatic;
  if (text == "rgb") return ColorMode::rgb;
  if (text == "grey" || text == "gray") return ColorMode::grey;
  throw gt::UsageError(fmt::format("--color '{}' is not known (expected rgb, grey or auto)", text));
}

BadImagePolicy parse_bad_image_policy(const std::string& text) {
  if (text == "fail") return BadImagePolicy::fail;
  if (text == "skip") return BadImagePolicy::skip;
  throw gt::UsageError(fmt::format("--bad-images '{}' is not known (expected fail or skip)", text));
}

const char* to_string(ColorMode mode) {
  return mode == ColorMode::rgb ? "rgb" : mode == ColorMode::grey ? "grey" : "auto";
}

const char* to_string(BadImagePolicy policy) {
  return policy == BadImagePolicy::skip ? "skip" : "fail";
}

ImageFolderData load_image_folder(const std::string& dir, double validation,
                                  const ImageOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.size < 0 || o.size > kMaxImageSize)
    throw gt::UsageError(
        fmt::format("--image-size {} is out of range (expected 1 to {}, or 0 "
                    "for the images' own size)",
                    o.size, kMaxImageSize));
  if (o.threads < 0) throw gt::UsageError("decoding threads must be 0 (all cores) or more");
  const std::string settings = settings_text(o, validation);
  ImageFolderReport report;
  auto finish = [&](const CacheContents& c, const std::string& path) {
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return from_cache(c, path, report);
  };
  std::string problem;
  if (!o.cache_file.empty())  // this run's parent made it: no need to list the folder again
    if (auto c = read_cache(o.cache_file, "", &problem);
        c && c->header.source == dir && c->header.settings == settings) {
      report.reused = true;
      return finish(*c, o.cache_file);
    }
  const FolderListing listing = list_image_folder(dir, {validation, o.test_fraction, o.split_seed});
  for (const auto& folder : listing.empty_class_folders) {
    if (o.bad_images == BadImagePolicy::fail)
      throw gt::Error(
          fmt::format("{}: empty class folder (no images; --bad-images skip keeps the "
                      "class without images)",
                      folder));
    report.notes.push_back(fmt::format("{}: empty class folder", folder));
  }
  const std::string key = cache_key(listing, settings);
  const std::string cache_dir = o.cache_dir.empty() ? default_cache_dir() : o.cache_dir;
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (!fs::is_directory(cache_dir))
    throw gt::Error(fmt::format("{}: cannot create the cache directory{}", cache_dir,
                                ec ? ": " + ec.message() : ""));
  const std::string prefix = cache_prefix(dir, settings);
  const std::string name = prefix + key.substr(0, 24) + ".gtimg";
  const std::string path = (fs::path(cache_dir) / name).string();
  if (auto c = read_cache(path, key, &problem)) {
    report.reused = true;
    return finish(*c, path);
  }
  FileLock lock((fs::path(cache_dir) / (prefix + "lock")).string());
  if (auto c = read_cache(path, key, &problem)) {  // another process made it meanwhile
    report.reused = true;
    return finish(*c, path);
  }
  if (!problem.empty()) report.notes.push_back(problem + "; decoding again");
  remove_other_caches(cache_dir, prefix, "");  // stale temporaries, superseded caches
  build_cache(listing, o, key, settings, cache_dir, name, report);
  auto c = read_cache(path, key, &problem);
  if (!c) throw gt::Error(problem.empty() ? path + ": the cache just written is missing" : problem);
  return finish(*c, path);
}

}  // namespace gt::data
