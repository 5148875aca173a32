// The words greentrain's records are made of, as types: which component a figure is for, how
// it was obtained, whose energy it is, and how a run ended. Code compares these enums; the
// words themselves appear only where a record is written to or read from JSON, SQL, CSV or the
// command line: to_string and the parse_ functions here, the JSON conversions (which write and
// read the same words) and fmt's formatting (which prints them).
#pragma once
#include <fmt/format.h>

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace gt {

enum class Component { gpu, cpu, ram, wall };
enum class Source { measured, estimated };
// Whose energy a figure is: the whole component's, or the share attributed to the measured
// process tree.
enum class Scope { machine, process };
enum class RunStatus { ok, failed, aborted };

const char* to_string(Component c);
const char* to_string(Source s);
const char* to_string(Scope s);
const char* to_string(RunStatus s);

// nullopt for a word that is none of the type's.
std::optional<Component> parse_component(std::string_view text);
std::optional<Source> parse_source(std::string_view text);
std::optional<Scope> parse_scope(std::string_view text);
std::optional<RunStatus> parse_run_status(std::string_view text);

// Written as their words (test messages, logs).
std::ostream& operator<<(std::ostream& out, Component c);
std::ostream& operator<<(std::ostream& out, Source s);
std::ostream& operator<<(std::ostream& out, Scope s);
std::ostream& operator<<(std::ostream& out, RunStatus s);

// The machine's component as a sum counts it: gpu, cpu and ram (a wall meter measures the whole
// machine, beside them).
constexpr bool is_main(Component c) { return c != Component::wall; }

NLOHMANN_JSON_SERIALIZE_ENUM(Component, {{Component::gpu, "gpu"},
                                         {Component::cpu, "cpu"},
                                         {Component::ram, "ram"},
                                         {Component::wall, "wall"}})
NLOHMANN_JSON_SERIALIZE_ENUM(Source,
                             {{Source::measured, "measured"}, {Source::estimated, "estimated"}})
NLOHMANN_JSON_SERIALIZE_ENUM(Scope, {{Scope::machine, "machine"}, {Scope::process, "process"}})
NLOHMANN_JSON_SERIALIZE_ENUM(RunStatus, {{RunStatus::ok, "ok"},
                                         {RunStatus::failed, "failed"},
                                         {RunStatus::aborted, "aborted"}})

}  // namespace gt

// Printed as their words.
template <typename T>
requires std::is_same_v<T, gt::Component> || std::is_same_v<T, gt::Source> ||
    std::is_same_v<T, gt::Scope> || std::is_same_v<T, gt::RunStatus>
struct fmt::formatter<T> : fmt::formatter<std::string_view> {
  template <typename Context>
  auto format(T value, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(gt::to_string(value), ctx);
  }
};
