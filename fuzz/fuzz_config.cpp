// The YAML configuration loader (bridge/config.cpp, with the approval rules of gates/policy.cpp): any
// file is either loaded or refused with ConfigError, never a crash or another exception.
#include "bridge/config.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/coco-fuzz-config-" + std::to_string(::getpid()) + ".yaml";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    coco::bridge::load_config(path, true);
  } catch (const coco::bridge::ConfigError&) {
  }
  return 0;
}
