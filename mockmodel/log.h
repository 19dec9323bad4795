#pragma once
// The mock model's logger: stderr only, because the CLI's stdout carries the port number.

#include <spdlog/logger.h>

namespace coco::mockmodel {

// A "mock-model" logger registered with spdlog, so spdlog::set_level() applies to it.
spdlog::logger& logger();

}  // namespace coco::mockmodel
