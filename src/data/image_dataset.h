// An image folder (data/image_folder.h) as training, validation and test sets of uint8 NHWC
// images, through the decoded-image cache (data/image_cache.h). The first load decodes every
// image on all cores (data/image_decode.h), resizes it to the chosen size (data/resize.h),
// converts it to the chosen colour mode and writes the cache; any later load with the same
// files (relative paths, sizes, modification times), size, colour mode and --bad-images policy
// maps that cache instead and decodes nothing. A changed, added or removed file is a different
// key, so a new cache (the superseded one of the same folder and settings is deleted).
// Per-channel mean and standard deviation come from the training split and are stored in the
// cache, so a data set's value is (u8 / 255 - mean[c]) / stddev[c] (data/dataset.h).
// Bad input — a file that is not a JPEG or PNG, a corrupt or truncated image, an unreadable
// file, an empty class folder — is one line naming the file: an error with
// --bad-images fail (the default), skipped and counted with --bad-images skip.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image_cache.h"

namespace gt::data {

enum class ColorMode { automatic, rgb, grey };
enum class BadImagePolicy { fail, skip };

// "auto" | "rgb" | "grey" (also "gray"), "fail" | "skip"; gt::UsageError otherwise.
ColorMode parse_color_mode(const std::string& text);
BadImagePolicy parse_bad_image_policy(const std::string& text);
const char* to_string(ColorMode mode);
const char* to_string(BadImagePolicy policy);

struct ImageOptions {
  int size = 0;  // --image-size N: N x N; 0: the images' own size (they must all agree)
  ColorMode color = ColorMode::automatic;  // automatic: RGB when any image is colour, else grey
  BadImagePolicy bad_images = BadImagePolicy::fail;
  std::string cache_dir;       // empty: default_cache_dir()
  double test_fraction = 0.2;  // one-tree layout only
  uint64_t split_seed = 1;     // one-tree layout (or a held-out validation split) only
  int threads = 0;             // decoding threads; 0: every core
  // A cache file an earlier load in this run made (train's metered parent passes it to its
  // child): mapped without listing the folder again when its folder and settings match;
  // otherwise ignored.
  std::string cache_file;
};

inline constexpr int kMaxImageSize = 4096;

// What a load did, for the user and the run's record.
struct ImageFolderReport {
  std::string cache_path;
  bool reused = false;  // the cache existed: nothing was decoded
  int64_t decoded = 0;  // images decoded by this load
  std::vector<SkippedImage> skipped;
  std::vector<std::string> notes;  // empty class folders skipped, an unusable cache replaced
  double seconds = 0;              // the whole load
};

struct ImageFolderData {
  Dataset train, validation, test;  // validation.rows / test.rows may be 0
  std::vector<std::string> class_names;
  ImageFolderReport report;
};

// Loads `dir`, holding `validation` of the training images out where the folder has no
// validation split of its own. gt::Error / gt::UsageError with one line for every problem.
ImageFolderData load_image_folder(const std::string& dir, double validation,
                                  const ImageOptions& options);

}  // namespace gt::data
