// The task-directory reader (`coco task show`, `coco task ls`): a directory anyone may have edited.
// The input is cut at "\x00\x01" into task.yaml, events.jsonl, the app-server's events.jsonl and a
// worker's final.json; reading and rendering must never crash or throw.
#include "taskdir/task_reader.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path root = fs::temp_directory_path() / ("coco-fuzz-tasks-" + std::to_string(::getpid()));
  static const fs::path dir = root / "20250301T100000Z-abcdef";
  static const bool made = [] {
    fs::create_directories(dir / "agents" / "app-server" / "runtime");
    fs::create_directories(dir / "agents" / "w1" / "artifacts");
    return true;
  }();
  (void)made;
  const fs::path files[] = {dir / "task.yaml", dir / "events.jsonl", dir / "agents" / "app-server" / "runtime" / "events.jsonl",
                            dir / "agents" / "w1" / "artifacts" / "final.json"};
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const auto& file : files) {
    std::size_t cut = input.find(std::string_view("\x00\x01", 2));
    std::string_view part = input.substr(0, cut);
    std::ofstream(file, std::ios::binary | std::ios::trunc).write(part.data(), static_cast<std::streamsize>(part.size()));
    input = cut == std::string_view::npos ? std::string_view() : input.substr(cut + 2);
  }
  coco::taskdir::load_task(dir);
  coco::taskdir::render_task_list(coco::taskdir::list_tasks(root));
  coco::taskdir::render_transcript(dir);
  return 0;
}
