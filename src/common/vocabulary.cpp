// The records' words (see vocabulary.h).
#include "common/vocabulary.h"

#include <ostream>

namespace gt {

const char* to_string(Component c) {
  switch (c) {
    case Component::gpu:
      return "gpu";
    case Component::cpu:
      return "cpu";
    case Component::ram:
      return "ram";
    case Component::wall:
      break;
  }
  return "wall";
}

const char* to_string(Source s) { return s == Source::measured ? "measured" : "estimated"; }

const char* to_string(Scope s) { return s == Scope::process ? "process" : "machine"; }

const char* to_string(RunStatus s) {
  switch (s) {
    case RunStatus::ok:
      return "ok";
    case RunStatus::failed:
      return "failed";
    case RunStatus::aborted:
      break;
  }
  return "aborted";
}

std::ostream& operator<<(std::ostream& out, Component c) { return out << to_string(c); }
std::ostream& operator<<(std::ostream& out, Source s) { return out << to_string(s); }
std::ostream& operator<<(std::ostream& out, Scope s) { return out << to_string(s); }
std::ostream& operator<<(std::ostream& out, RunStatus s) { return out << to_string(s); }

std::optional<Component> parse_component(std::string_view text) {
  for (Component c : {Component::gpu, Component::cpu, Component::ram, Component::wall})
    if (text == to_string(c)) return c;
  return std::nullopt;
}

std::optional<Source> parse_source(std::string_view text) {
  for (Source s : {Source::measured, Source::estimated})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

std::optional<Scope> parse_scope(std::string_view text) {
  for (Scope s : {Scope::machine, Scope::process})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

std::optional<RunStatus> parse_run_status(std::string_view text) {
  for (RunStatus s : {RunStatus::ok, RunStatus::failed, RunStatus::aborted})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

}  // namespace gt
