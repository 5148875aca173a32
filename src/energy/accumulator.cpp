// Accumulator: readings → energy and peak power (see meter.h for the integration rules).
// Every reading is checked here, whatever meter it came from: a power that is not a finite
// number in 0 .. 10 MW and an energy counter that is not finite and non-negative are dropped
// (a missed sample). A counter that goes backwards (a driver reload, a counter reset, a wrap
// the meter could not undo) or jumps faster than 10 MW restarts from its new value: that one
// interval adds nothing, and no reading can make the energy negative or infinite.
#include <algorithm>
#include <cmath>

#include "common/numbers.h"
#include "energy/meter.h"

namespace gt::energy {

void Accumulator::add(double t_s, const Reading& raw) {
  Reading r = raw;
  if (r.power_w && !plausible_power_w(*r.power_w)) r.power_w.reset();
  if (r.energy_j && !(std::isfinite(*r.energy_j) && *r.energy_j >= 0)) r.energy_j.reset();
  if (!r.power_w && !r.energy_j) {     // a missed sample: the next one spans the gap
    if (!have_origin_) last_t_ = t_s;  // but the window still starts here
    have_origin_ = true;
    return;
  }
  const double dt = have_origin_ ? t_s - last_t_ : 0;
  std::optional<double> power = r.power_w;
  if (r.energy_j) {
    if (last_counter_) {
      const double d = *r.energy_j - *last_counter_;
      const double dt_counter = t_s - last_counter_t_;
      const bool plausible =
          d >= 0 && (dt_counter > 0 ? d / dt_counter <= kMaxPlausiblePowerW : d == 0);
      if (plausible) {
        counter_j_ += d;
        if (!power && dt_counter > 0) power = d / dt_counter;
      }
    }
    last_counter_ = r.energy_j;
    last_counter_t_ = t_s;
  }
  if (dt > 0 && r.power_w) {
    if (r.power_is_average || !last_power_)
      integrated_j_ += *r.power_w * dt;
    else
      integrated_j_ += 0.5 * (*r.power_w + *last_power_) * dt;
  }
  if (r.power_w) last_power_ = r.power_w;
  if (power) {
    peak_w_ = std::max(peak_w_, *power);
    last_power_w_ = *power;
  }
  last_t_ = t_s;
  have_origin_ = true;
  ++n_;
}

double Accumulator::energy_j() const { return last_counter_ ? counter_j_ : integrated_j_; }

}  // namespace gt::energy
