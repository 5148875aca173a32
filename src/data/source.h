// The one grammar of data set specifications (`--data` in `greentrain train`, `dataset` in
// plan files):
//   fashion-mnist               the IDX files in --data-dir, $GREENTRAIN_DATA or
//                               /usr/share/datasets/fashion-mnist
//   mnist:DIR  (or mnist with --data-dir DIR)   the four MNIST IDX files in DIR
//   csv:train.csv[,test.csv]    tabular data (data/csv.h)
//   folder:DIR                  a folder of class folders of JPEG/PNG images (data/image_folder.h)
// The loader (data/loader.h) and the plan validation both parse through here.
#pragma once
#include <string>

namespace gt::data {

enum class DataKind { fashion_mnist, mnist, csv, image_folder };

struct DataSource {
  DataKind kind = DataKind::fashion_mnist;
  std::string dir;                    // mnist (empty: --data-dir), image_folder
  std::string train_file, test_file;  // csv (test_file may be empty)
  std::string location;               // the text after the prefix ("DIR", "a.csv,b.csv")
};

// Parses a specification; gt::UsageError "--data 'SPEC' ..." saying what was expected.
DataSource parse_data_spec(const std::string& spec);

// The accepted forms, for messages: `quoted` gives "fashion-mnist", "mnist:DIR", ... or
// "folder:DIR"; otherwise the same without quotes.
std::string data_spec_forms(bool quoted);

}  // namespace gt::data
