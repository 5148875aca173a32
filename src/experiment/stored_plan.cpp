// The stored plan, parsed (see stored_plan.h).
#include "experiment/stored_plan.h"

#include "common/error.h"

namespace gt::experiment {

std::optional<Plan> stored_plan(const ExperimentRecord& e) {
  try {
    return parse_plan(e.plan_text, e.name + " (the plan in the database)");
  } catch (const gt::Error&) {
    return std::nullopt;
  }
}

}  // namespace gt::experiment
