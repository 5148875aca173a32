// The two outputs of `greentrain report`: one self-contained HTML page (styles, vega libraries,
// chart specs and data inlined; no network request; every chart has its table beside it and
// the tables alone carry the page when scripts are off) and a Markdown summary for pull
// requests and papers. Both are pure functions of ReportData.
#pragma once
#include <string>

#include "report/report_data.h"

namespace gt::report {

struct HtmlOptions {
  bool inline_libraries = true;  // false: tables only (used by tests that check the no-script page)
};

std::string render_html(const ReportData& data, const HtmlOptions& options = {});
std::string render_markdown(const ReportData& data);

// Writes `content` to `path` (through a temporary file renamed into place); throws gt::Error
// naming the path when it cannot.
void write_file(const std::string& path, const std::string& content);

}  // namespace gt::report
