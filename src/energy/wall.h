// Wall-power meters, the whole machine at the socket (the study greentrain automates read a
// wall wattmeter by hand). --wall takes one of:
//   cmd:<command>         run through /bin/sh each interval; prints watts (the output of
//                         `ipmitool dcmi power reading` is understood, else the first number);
//                         a command slower than max(2 s, 2 intervals) or printing more than
//                         64 KiB is killed with its process group and the sample is missed
//   http:<url>#<pointer>  GET the URL with libcurl, take the JSON pointer's number (Shelly
//                         …/rpc/Switch.GetStatus?id=0#/apower, Tasmota
//                         …/cm?cmnd=Status%208#/StatusSNS/ENERGY/Power)
//   manual                ask for the meter's kWh reading before and after (or average watts)
//   file:<csv>            a logger's `timestamp,watts` file (epoch seconds or ISO 8601),
//                         integrated over the measurement window after it ends
// A reading that is not a finite power in 0 .. 10 MW (negative, NaN, 1e999) is a missed sample.
#pragma once
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "energy/meter.h"

namespace gt::energy {

// Watts in a command's output: ipmitool's "Instantaneous power reading: 123 Watts", else the
// first number. Empty when there is none or it is not a plausible power (numbers.h).
std::optional<double> parse_watts(const std::string& text);

// The watts at `pointer` in a smart plug's JSON answer (a number, or a string holding one).
// Empty for malformed JSON, a missing pointer or an implausible value.
std::optional<double> parse_json_watts(const std::string& body, const std::string& pointer);

// Unix time in seconds of an epoch number or an ISO 8601 timestamp (Z/±hh:mm, else local).
// Empty for anything else, including epochs past the year 5000.
std::optional<double> parse_timestamp(const std::string& text);

// The (time, watts) points of a logger's `timestamp,watts` CSV, sorted by time. Rows whose
// timestamp or watts do not parse (the header, a partial last line) are skipped.
std::vector<std::pair<double, double>> parse_wall_log(std::istream& in, const std::string& source);

// ∫ P dt over [t0, t1] of the piecewise-linear power through the points (t, watts), holding
// the end values outside them. Points must be sorted by time.
double integrate_power(const std::vector<std::pair<double, double>>& points, double t0, double t1);

struct ManualIo {
  std::istream* in = nullptr;   // null: /dev/tty if available, else stdin
  std::ostream* out = nullptr;  // null: stderr
};

// Parses a --wall value; throws gt::UsageError on a malformed one. Empty spec → null.
std::unique_ptr<Meter> make_wall_meter(const std::string& spec, int interval_ms, ManualIo io = {});

}  // namespace gt::energy
