// Writing an IDX data set (Fashion-MNIST, MNIST) as a folder of image files, the layout
// `--data folder:DIR` reads: DIR/{train,valid,test}/<class name>/<n>.jpg|png (Kaggle's), or one
// tree DIR/<class name>/<n>.<ext>. <n> is the image's row in its IDX file, zero-padded, so the
// files of a class sort in file order; class names become folder names with '/', '\' and
// control characters replaced by '_' ("T-shirt/top" → "T-shirt_top"). Train and valid images
// are the first of each class in the IDX training file, test images the first of each class in
// the IDX test file. Images are resized (data/resize.h), made RGB by repeating the grey value
// when asked, and encoded on all cores (data/image_encode.h). The tree is written beside DIR
// under a temporary name and renamed when complete: DIR never holds half a tree.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_decode.h"
#include "data/image_folder.h"

namespace gt::data {

struct ImageExportOptions {
  std::string from = "fashion-mnist";  // an IDX data set: fashion-mnist | mnist:DIR
  std::string data_dir;                // Fashion-MNIST's folder (default as for --data)
  std::string out;                     // must not exist, or be an empty folder
  int size = 0;                        // N x N; 0: the source's size
  int channels = 1;                    // 1 grey, 3 RGB
  ImageFormat format = ImageFormat::jpeg;
  int quality = 95;                    // JPEG, 1..100
  int per_class = 0;                   // images per class in all splits (0: the split counts)
  std::string splits = "0.8,0.1,0.1";  // train,valid,test: fractions of per_class, or counts
  bool one_tree = false;               // DIR/<class>/... without split folders
  int threads = 0;                     // 0: every core
};

struct ImageExportReport {
  std::array<int64_t, kSplits> images{};  // per split (one tree: all in train)
  std::vector<std::string> class_folders;
  double seconds = 0;
};

// A folder name for a class name (see above).
std::string safe_folder_name(const std::string& class_name);

// Per class and split, how many images --splits and --per-class ask for; gt::UsageError when the
// text is malformed or disagrees with per_class.
std::array<int, kSplits> split_counts(const std::string& splits, int per_class);

ImageExportReport export_image_folder(const ImageExportOptions& options);

}  // namespace gt::data
