// `greentrain data`: tools for training data sets.
//   data images --from fashion-mnist|mnist:DIR --out DIR ...  writes an IDX data set as a folder
//                of JPEG/PNG files in the layout `--data folder:DIR` reads (data/image_export.h)
//   data prepare --data folder:DIR [--image-size N ...]      decodes an image folder into the
//                cache now (data/image_dataset.h) and says where it is, so a later `train` or
//                experiment only maps it
#include <fmt/core.h>

#include <memory>

#include "cli/data_options.h"
#include "cli/verbs.h"
#include "common/error.h"
#include "data/image_export.h"
#include "data/loader.h"
#include "data/source.h"

namespace gt::cli {
namespace {

struct ImagesCommand {
  data::ImageExportOptions export_options;
  std::string color = "grey", format = "jpeg", layout = "splits";
};

int run_images(ImagesCommand& cmd) {
  auto& o = cmd.export_options;
  const data::ColorMode color = data::parse_color_mode(cmd.color);
  if (color == data::ColorMode::automatic)
    throw gt::UsageError("--color: expected rgb or grey for the images written");
  o.channels = color == data::ColorMode::rgb ? 3 : 1;
  if (cmd.format == "jpeg" || cmd.format == "jpg")
    o.format = data::ImageFormat::jpeg;
  else if (cmd.format == "png")
    o.format = data::ImageFormat::png;
  else
    throw gt::UsageError(fmt::format("--format '{}': expected jpeg or png", cmd.format));
  if (cmd.layout != "splits" && cmd.layout != "tree")
    throw gt::UsageError(fmt::format("--layout '{}': expected splits or tree", cmd.layout));
  o.one_tree = cmd.layout == "tree";
  const data::ImageExportReport r = data::export_image_folder(o);
  const int64_t total = r.images[0] + r.images[1] + r.images[2];
  if (o.one_tree)
    fmt::print("wrote {} images of {} classes to {} in {:.1f} s\n", total, r.class_folders.size(),
               o.out, r.seconds);
  else
    fmt::print("wrote {} images of {} classes to {} (train {}, valid {}, test {}) in {:.1f} s\n",
               total, r.class_folders.size(), o.out, r.images[0], r.images[1], r.images[2],
               r.seconds);
  return 0;
}

int run_prepare(const data::DataOptions& o) {
  if (data::parse_data_spec(o.spec).kind != data::DataKind::image_folder)
    throw gt::UsageError(
        fmt::format("--data '{}': data prepare is for image folders (folder:DIR)", o.spec));
  const data::Splits s = data::load_data(o);
  const auto& r = *s.images;
  print_image_report(r, true);
  fmt::print("{} · {} classes · {}x{}x{} · train {} · validation {} · test {} · skipped {}\n",
             s.location, s.class_names.size(), s.train.height, s.train.width, s.train.channels,
             s.train.rows, s.validation.rows, s.test.rows, r.skipped.size());
  fmt::print(
      "cache {} ({})\n", r.cache_path,
      r.reused ? "reused" : fmt::format("{} images decoded in {:.1f} s", r.decoded, r.seconds));
  return 0;
}

}  // namespace

void add_data(CLI::App& app, Action& run) {
  auto* data = app.add_subcommand("data",
                                  "Training data tools: make an image folder from IDX "
                                  "data, decode an image folder into the cache");
  data->require_subcommand(1);

  auto images = std::make_shared<ImagesCommand>();
  auto& o = images->export_options;
  auto* im = data->add_subcommand(
      "images",
      "Write an IDX data set (Fashion-MNIST, MNIST) as a folder of JPEG/PNG files: "
      "OUT/{train,valid,test}/<class>/<n>.jpg");
  im->add_option("--from", o.from, "fashion-mnist | mnist:DIR")->capture_default_str();
  im->add_option("--data-dir", o.data_dir, "Fashion-MNIST directory (default as for train)");
  im->add_option("--out", o.out, "The folder to create (must not exist, or be empty)")->required();
  im->add_option("--size", o.size, "Images of N x N pixels (default: the source's size)");
  im->add_option("--color", images->color, "rgb | grey")->capture_default_str();
  im->add_option("--format", images->format, "jpeg | png")->capture_default_str();
  im->add_option("--per-class", o.per_class,
                 "Images per class in all splits together (needed with fractions in --splits)");
  im->add_option("--quality", o.quality, "JPEG quality, 1..100")->capture_default_str();
  im->add_option("--splits", o.splits,
                 "train,valid,test: fractions of --per-class or counts per class")
      ->capture_default_str();
  im->add_option("--layout", images->layout,
                 "splits (OUT/train|valid|test/<class>/) or tree (OUT/<class>/, --per-class "
                 "images each)")
      ->capture_default_str();
  im->add_option("--threads", o.threads, "Encoding threads (default: every core)");
  im->callback([&run, images] { run = [images] { return run_images(*images); }; });

  auto prepare = std::make_shared<data::DataOptions>();
  prepare->spec.clear();
  auto* pr = data->add_subcommand(
      "prepare", "Decode an image folder into the cache now (train and experiments reuse it)");
  add_data_options(*pr, *prepare);
  pr->get_option("--data")->required();
  pr->add_option("--threads", prepare->images.threads, "Decoding threads (default: every core)");
  pr->callback([&run, prepare] { run = [prepare] { return run_prepare(*prepare); }; });
}

}  // namespace gt::cli
