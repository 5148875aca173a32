// Accumulator: readings → energy and peak power (see meter.h for the integration rules).
#include <algorithm>

#include "energy/meter.h"

namespace gt::energy {

void Accumulator::add(double t_s, const Reading& r) {
  if (!r.power_w && !r.energy_j) {     // a missed sample: the next one spans the gap
    if (!have_origin_) last_t_ = t_s;  // but the window still starts here
    have_origin_ = true;
    return;
  }
  const double dt = have_origin_ ? t_s - last_t_ : 0;
  std::optional<double> power = r.power_w;
  if (!power && r.energy_j && last_counter_ && dt > 0) power = (*r.energy_j - *last_counter_) / dt;
  if (dt > 0 && r.power_w) {
    if (r.power_is_average || !last_power_)
      integrated_j_ += *r.power_w * dt;
    else
      integrated_j_ += 0.5 * (*r.power_w + *last_power_) * dt;
  }
  if (r.energy_j) {
    if (!first_counter_) first_counter_ = r.energy_j;
    last_counter_ = r.energy_j;
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

double Accumulator::energy_j() const {
  if (first_counter_ && last_counter_) return *last_counter_ - *first_counter_;
  return integrated_j_;
}

}  // namespace gt::energy
