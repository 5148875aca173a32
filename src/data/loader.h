// Resolves a --data specification (data/source.h) to training, validation and test sets:
//   fashion-mnist             → --data-dir, else $GREENTRAIN_DATA, else
//                               /usr/share/datasets/fashion-mnist
//   mnist:DIR                 → the four MNIST IDX files in DIR
//   csv:train.csv[,test.csv]  (with --label-column)
//   folder:DIR                → class folders of JPEG/PNG images, decoded once into a cache
//                               (data/image_dataset.h; the `images` options)
// IDX file names are tried as train-images-idx3-ubyte(.gz) etc. For IDX and CSV data the
// validation set is the last `validation` fraction of the training file (Keras'
// validation_split); an image folder holds out that fraction of each class instead, unless it
// has a validation folder. The test set is only for the final accuracy.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image_dataset.h"

namespace gt::data {

struct DataOptions {
  std::string spec = "fashion-mnist";
  std::string data_dir;  // overrides the fashion-mnist location
  std::string label_column = "label";
  double validation = 0.0;  // fraction of the training file held out, [0, 0.9]
  ImageOptions images;      // folder:DIR only
};

struct Splits {
  std::string name;                 // e.g. "fashion-mnist"
  std::string location;             // directory or files it was read from
  Dataset train, validation, test;  // validation.rows / test.rows may be 0
  std::vector<std::string> class_names;
  std::optional<ImageFolderReport> images;  // folder:DIR: the cache used, images skipped
};

Splits load_data(const DataOptions& options);

// For an image folder: loads it (decoding into the cache if needed) and says what that did, so
// a caller can decode before any metering starts; later loads reuse the cache. Other data: no
// work, nullopt.
std::optional<ImageFolderReport> prepare_data(const DataOptions& options);

// Splits the last `fraction` of `all` off as the validation set.
void split_validation(Dataset& all, double fraction, Dataset& validation);

}  // namespace gt::data
