// The one CSV reader of greentrain: training data (data/csv) and the runs table that
// `analyze --input` reads (stats/runs_table) both go through it, so both accept the same files.
// And the one writer of a CSV record, which every export uses.
// RFC 4180 records: fields separated by commas, double-quoted fields with "" for a quote and
// commas, CR, LF inside them; CRLF or LF line ends; a UTF-8 byte-order mark at the start is
// skipped. Unquoted fields lose surrounding blanks; quoted fields are kept as written. Malformed
// input (an unterminated quote, text after a closing quote) is a gt::Error naming the line.
#pragma once
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace gt::csv {

struct Record {
  std::vector<std::string> fields;
  std::int64_t line = 0;  // line number where the record starts (1-based)
  bool blank() const { return fields.size() == 1 && fields[0].empty(); }
};

class Reader {
 public:
  // `source` names the input in messages (a path, or "<stdin>").
  Reader(std::istream& in, std::string source);
  // The next record; false at the end of the input.
  bool next(Record& record);
  const std::string& source() const { return source_; }

 private:
  std::istream& in_;
  std::string source_;
  std::int64_t line_ = 0;
  bool first_ = true;
};

// Throws gt::Error("SOURCE:LINE: column 'x' appears twice (columns 2 and 5)") when two header
// cells are equal; empty header cells are not compared.
void check_unique_header(const Record& header, const std::string& source);

// One field as RFC 4180 writes it: quoted (a quote doubled) when it holds a comma, a quote, CR or
// LF; as it is otherwise.
std::string quote_field(const std::string& value);
// The fields quoted as needed, joined by commas, and a newline.
std::string format_record(const std::vector<std::string>& fields);
// A number as a field: the shortest decimal that reads back as the same double; "" when there
// is none or it is not finite (an empty cell is "no value", never a zero).
std::string number_field(const std::optional<double>& value);

}  // namespace gt::csv
