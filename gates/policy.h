#pragma once
// Approval policy: ordered rules that answer gates without a human (the `approvals:` section of the
// config file; docs/configuration.md). First matching rule wins; no match means ask.

#include "gates/prompt.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace YAML { class Node; }

namespace coco::gates {

enum class Action { Allow, Deny, Ask };
std::string_view to_string(Action a);

// What happens to gates nobody has a rule for: ask the editor, or (headless) allow, deny, or wait
// for the task-directory hand-off only.
enum class Mode { Ask, Allow, Deny, Dir };
std::optional<Mode> parse_mode(std::string_view s);
std::string_view to_string(Mode m);

struct Rule {
  std::string name;                       // for the record; defaults to "rule N (line L)"
  std::optional<GateKind> kind;           // any kind when unset
  std::vector<std::string> command;       // argv prefix, matched by words
  std::string cwd;                        // glob on the working directory
  std::string path;                       // glob every changed path must match (deny: any)
  std::string mcp_server;                 // elicitations from this MCP server
  Action action = Action::Ask;
  int line = 0;
};

struct PolicyConfig {
  Mode mode = Mode::Ask;
  std::optional<double> timeout_s;        // no timeout unless set
  OptionKind on_timeout = OptionKind::Deny;     // deny | cancel
  OptionKind on_disconnect = OptionKind::Cancel;  // deny | cancel
  // An editor that dismisses a prompt without choosing (Esc on a popup): deny | cancel, or nullopt
  // (`ask`) to ask again.
  std::optional<OptionKind> on_dismiss = OptionKind::Deny;
  // File-change prompts carry the files' texts up to this size (approvals.max_text_kib).
  std::size_t max_text_bytes = std::size_t{512} << 10;
  std::vector<Rule> rules;
};

class PolicyError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Parses the `approvals:` mapping; errors name the file and line.
PolicyConfig parse_policy(const YAML::Node& node, const std::string& file);

struct Verdict {
  Action action = Action::Ask;
  const Rule* rule = nullptr;  // the rule that matched, if any
};
Verdict evaluate(const PolicyConfig& policy, const Prompt& prompt);

}  // namespace coco::gates
