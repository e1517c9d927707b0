// SPDX-License-Identifier: Apache-2.0
/// The plan as people read it (a summary per project and destination, then every refused,
/// lost or failed edge) and as programs read it (JSON).
#pragma once

#include "engine/plan/plan.hpp"

#include <nlohmann/json.hpp>

#include <ostream>

namespace hoist::engine {

void print_plan(std::ostream& out, const promotion_plan& plan);

nlohmann::ordered_json plan_to_json(const promotion_plan& plan);

}  // namespace hoist::engine
