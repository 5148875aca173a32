// Data flags for the verbs that load a data set (see data_options.h).
#include "cli/data_options.h"

#include <fmt/core.h>

#include <limits>

#include "cli/cli_number.h"
#include "data/image_dataset.h"

namespace gt::cli {

void add_data_options(CLI::App& cmd, data::DataOptions& o) {
  cmd.add_option("--data", o.spec,
                 "fashion-mnist | mnist:DIR | csv:train.csv[,test.csv] | folder:DIR (class "
                 "folders of JPEG/PNG images)")
      ->capture_default_str();
  cmd.add_option("--data-dir", o.data_dir,
                 "Fashion-MNIST directory (default $GREENTRAIN_DATA or "
                 "/usr/share/datasets/fashion-mnist)");
  cmd.add_option("--label-column", o.label_column, "CSV label column")->capture_default_str();
  cmd.add_option("--validation", o.validation,
                 "Fraction of the training file held out for validation (0..0.9; image folders: "
                 "of each class, unless the folder has valid/)")
      ->check(finite_number(0, 0.9))
      ->capture_default_str();
  cmd.add_option("--image-size", o.images.size,
                 "Image folders: resize to N x N (default: the images' own size, which must "
                 "agree)")
      ->check(whole_number(0, data::kMaxImageSize));
  cmd.add_option_function<std::string>(
         "--color", [&o](const std::string& v) { o.images.color = data::parse_color_mode(v); },
         "Image folders: rgb | grey (default: rgb when any image is colour)")
      ->type_name("MODE");
  cmd.add_option_function<std::string>(
         "--bad-images",
         [&o](const std::string& v) { o.images.bad_images = data::parse_bad_image_policy(v); },
         "Image folders: fail (default) or skip an unreadable or corrupt image")
      ->type_name("POLICY");
  cmd.add_option("--cache-dir", o.images.cache_dir,
                 "Image folders: where decoded images are cached (default "
                 "$XDG_CACHE_HOME/greentrain or ~/.cache/greentrain)");
  cmd.add_option("--test-fraction", o.images.test_fraction,
                 "Image folders without train/: fraction of each class for the test set")
      ->capture_default_str()
      ->check(finite_number(0, 0.9));
  cmd.add_option("--split-seed", o.images.split_seed,
                 "Image folders: seed of the split of a folder without train/ (or of a "
                 "held-out validation split)")
      ->check(whole_number(0, std::numeric_limits<long long>::max()))
      ->capture_default_str();
  // Internal: the cache train's metered parent made, so its child need not list the folder.
  cmd.add_option("--image-cache", o.images.cache_file)->group("");
}

std::vector<std::string> data_option_args(const data::DataOptions& o) {
  std::vector<std::string> a = {"--data", o.spec};
  if (!o.data_dir.empty()) a.insert(a.end(), {"--data-dir", o.data_dir});
  a.insert(a.end(),
           {"--label-column", o.label_column, "--validation", fmt::format("{}", o.validation)});
  const data::ImageOptions& im = o.images;
  const data::ImageOptions defaults;
  if (im.size != defaults.size) a.insert(a.end(), {"--image-size", std::to_string(im.size)});
  if (im.color != defaults.color) a.insert(a.end(), {"--color", data::to_string(im.color)});
  if (im.bad_images != defaults.bad_images)
    a.insert(a.end(), {"--bad-images", data::to_string(im.bad_images)});
  if (!im.cache_dir.empty()) a.insert(a.end(), {"--cache-dir", im.cache_dir});
  if (im.test_fraction != defaults.test_fraction)
    a.insert(a.end(), {"--test-fraction", fmt::format("{}", im.test_fraction)});
  if (im.split_seed != defaults.split_seed)
    a.insert(a.end(), {"--split-seed", std::to_string(im.split_seed)});
  if (!im.cache_file.empty()) a.insert(a.end(), {"--image-cache", im.cache_file});
  return a;
}

void print_image_report(const data::ImageFolderReport& r, bool quiet) {
  if (!quiet) {
    if (r.reused)
      fmt::print(stderr, "greentrain: images from the cache {}\n", r.cache_path);
    else
      fmt::print(stderr, "greentrain: decoded {} images in {:.1f} s ({:.0f} images/s) into {}\n",
                 r.decoded, r.seconds, r.seconds > 0 ? double(r.decoded) / r.seconds : 0.0,
                 r.cache_path);
  }
  for (const auto& s : r.skipped) fmt::print(stderr, "greentrain: skipped {}\n", s.reason);
  for (const auto& n : r.notes) fmt::print(stderr, "greentrain: {}\n", n);
}

}  // namespace gt::cli
