// The runs table (docs/architecture.md, "Runs table") as a pure value, and its CSV reader. One row
// per run: the configuration (one string per factor, in factor order), block, repeat, status,
// warm-up flag and every numeric metric column. Empty cells are "no value" and are simply absent
// from the row's metrics map (never a silent zero). This is the one place in src/stats/ that reads
// a file, so that every analysis can be reproduced from a spreadsheet-friendly CSV.
#pragma once
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/vocabulary.h"

namespace gt::stats {

struct RunRow {
  std::string run_id;
  std::vector<std::string> config;  // one value per factor, in RunsTable::factors order
  std::optional<int> block;  // absent when the table has no block column or the cell is empty
  std::optional<int> repeat;
  RunStatus status = RunStatus::ok;  // an empty or absent status cell: ok
  bool warmup = false;
  std::map<std::string, double> metrics;  // numeric columns; empty cells are absent
};

struct RunsTable {
  std::vector<std::string> factors;         // factor column names, in the order given
  std::vector<std::string> metric_columns;  // every other numeric column, in file order
  std::vector<std::string> text_columns;    // other columns whose cells are all text
  std::vector<RunRow> rows;
};

// Reads a runs-table CSV (RFC 4180 quoting, so "512,256" survives). `factors` names the factor
// columns. Throws gt::Error with one line naming the file, line and column for: a missing
// factor/status column, a non-numeric value in a metric column, a bad block/repeat/warmup cell,
// a row with the wrong number of cells. Columns run_id, block, repeat, status and warmup are
// optional (status defaults to ok, warmup to 0).
RunsTable read_runs_csv(const std::string& path, const std::vector<std::string>& factors);
RunsTable read_runs_csv(std::istream& in, const std::vector<std::string>& factors,
                        const std::string& source_name);

}  // namespace gt::stats
