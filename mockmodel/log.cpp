#include "mockmodel/log.h"

#include <memory>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace coco::mockmodel {

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    if (auto existing = spdlog::get("mock-model")) {
      return existing;  // the host program configured it
    }
    auto created = std::make_shared<spdlog::logger>("mock-model",
                                                    std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    spdlog::initialize_logger(created);  // registers it and applies the global level and pattern
    return created;
  }();
  return *instance;
}

}  // namespace coco::mockmodel
