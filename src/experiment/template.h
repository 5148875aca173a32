// Command templates of `kind = "command"` workloads: "{name}" is replaced by the value of that
// factor or run field, "{{" and "}}" stand for literal braces. check_template() validates a
// template against the known names when the plan is parsed, so a typo fails before any run.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace gt::experiment {

// Throws gt::Error("unknown placeholder {x}; expected one of ...") or for an unclosed brace.
void check_template(const std::string& tmpl, const std::vector<std::string>& known);
// The placeholder names of a template in order of first use, each once; throws like
// check_template for an unclosed brace.
std::vector<std::string> placeholders(const std::string& tmpl);
std::string substitute(const std::string& tmpl, const std::map<std::string, std::string>& values);

}  // namespace gt::experiment
