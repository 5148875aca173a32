// A human-readable table of a Summary (component, device, source, attribution and model,
// energy in J and Wh, average/peak/idle W, net J, the machine's J beside a process figure),
// shared by `greentrain measure` and any verb that meters.
#pragma once
#include <string>

#include "energy/session.h"

namespace gt::energy {

std::string format_summary_table(const Summary& summary);

}  // namespace gt::energy
