// experiment/machine.h — a description of the machine a run used, for reports and
// benchmark output (timings mean little without it).
#pragma once
#include <nlohmann/json.hpp>

namespace sn::train {

// {"cpu": "AMD EPYC ...", "cores": 2, "threads": 2, "memory_gb": 7.8,
//  "os": "Debian GNU/Linux 12 (bookworm)", "compiler": "GCC 12.2.0",
//  "cuda": "available" | the reason it is not, "hostname": "..."}
nlohmann::json machine_info();

}  // namespace sn::train
