#pragma once
// Secret redaction for everything the task directory stores. Recordings hold prompts, command output
// and protocol traffic; API keys and tokens must not land on disk.
//
// What is replaced by "[REDACTED]" (see docs/task-directory.md, "Redaction"):
// - JSON string values of keys whose name looks secret (is_secret_key), at any depth, also inside JSON
//   text that is itself embedded in a JSON string (command output that printed a config file);
// - in any text: `sk-...` API keys, the credential after `Bearer `, JWTs (`eyJ...`), the value of
//   NAME=value assignments whose NAME looks secret (OPENAI_API_KEY=..., --password=...), and the body
//   of PEM private keys.
// Everything else is left byte for byte as it was, so JSON stays valid and diffs stay readable.

#include <string>
#include <string_view>

namespace coco::taskdir {

// Cheap test (one vectorized pass, ~0.3 ns per byte) that is true whenever redact_secrets could change
// `text`: it looks for the markers every secret contains (docs/task-directory.md, "Redaction").
bool might_contain_secret(std::string_view text);

// Returns `text` with secrets replaced. Text without secrets comes back byte-identical.
std::string redact_secrets(std::string_view text);

// True for key names such as apiKey, api_key, token, accessToken, id_token, refreshToken,
// authorization, password, clientSecret, OPENAI_API_KEY (case, '_', '-' and '.' are ignored).
bool is_secret_key(std::string_view name);

}  // namespace coco::taskdir
