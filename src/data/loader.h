// Resolves a --data specification to training, validation and test sets:
//   fashion-mnist        → --data-dir, else $GREENTRAIN_DATA, else
//   /usr/share/datasets/fashion-mnist mnist:DIR            → the four MNIST IDX files in DIR
//   csv:train.csv[,test.csv] (with --label-column)
// IDX file names are tried as train-images-idx3-ubyte(.gz) etc. The validation set is the last
// `validation` fraction of the training file (Keras' validation_split); the test set is only
// for the final accuracy.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace gt::data {

struct DataOptions {
  std::string spec = "fashion-mnist";
  std::string data_dir;  // overrides the fashion-mnist location
  std::string label_column = "label";
  double validation = 0.0;  // fraction of the training file held out, [0, 0.9]
};

struct Splits {
  std::string name;                 // e.g. "fashion-mnist"
  std::string location;             // directory or files it was read from
  Dataset train, validation, test;  // validation.rows / test.rows may be 0
  std::vector<std::string> class_names;
};

Splits load_data(const DataOptions& options);

// Splits the last `fraction` of `all` off as the validation set.
void split_validation(Dataset& all, double fraction, Dataset& validation);

}  // namespace gt::data
