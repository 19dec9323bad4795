#pragma once
// `coco exec`: fan prompts out to exec workers from a shell, watch them, join them into a report.
// The one worker front end that writes to stdout (it is for a person, not a protocol).

#include <map>
#include <string>
#include <vector>

namespace coco::cli {

// Options as parsed by the command line (`--key value`), and the prompts. Returns the exit code:
// 0 when every worker completed, 1 when any did not, 2 for a usage error, 130 when interrupted.
int run_exec_cli(const std::map<std::string, std::vector<std::string>>& options,
                 const std::vector<std::string>& prompts);

// Prompts from a --prompts file: one per line; blank lines and lines starting with '#' are skipped.
std::vector<std::string> parse_prompts_file(const std::string& text);

}  // namespace coco::cli
