// Tabular classification data from CSV: a header row is required, one column (named by
// --label-column) holds the class, every other column must be numeric. Labels that are all
// non-negative integers are used as class indices; otherwise the distinct label strings, sorted,
// become classes 0..k-1. Features are standardised with the training set's mean and standard
// deviation (the test set reuses them). Bad rows are gt::Errors with file and line number.
// Records come from the common reader (common/csv.h): quoted fields, CRLF and a UTF-8 BOM are
// understood, and a header naming a column twice is an error.
#pragma once
#include <istream>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace gt::data {

struct CsvTable {
  std::vector<std::string> feature_names;
  std::vector<std::vector<float>> rows;  // raw (unstandardised) features
  std::vector<std::string> labels;       // label cell text per row
};

CsvTable read_csv_table(const std::string& path, const std::string& label_column);
// The same from a stream; `source` names it in messages.
CsvTable read_csv_table(std::istream& in, const std::string& source,
                        const std::string& label_column);

struct CsvSets {
  Dataset train, test;  // test.rows == 0 when no test file was given
  std::vector<std::string> class_names;
};

CsvSets load_csv(const std::string& train_path, const std::string& test_path,
                 const std::string& label_column);

}  // namespace gt::data
