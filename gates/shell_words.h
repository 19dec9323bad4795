#pragma once
// Splits a command line the way a POSIX shell would split words, so policy rules can match an argv
// prefix ("git status") by tokens instead of by substring.

#include <string>
#include <string_view>
#include <vector>

namespace coco::gates {

struct ShellWords {
  std::vector<std::string> words;
  // True when the line does more than run one simple command: it has a control or redirection
  // operator (; & | < > newline), a command substitution ($( or `), or unbalanced quotes. Allow
  // rules never match such a line, so `git status; rm -rf ~` is not "git status".
  bool compound = false;
};

ShellWords split_shell_words(std::string_view line);

// codex reports commands as `/bin/bash -lc 'script'`; policy is about the script. Returns the words
// of the inner script when the command is such a wrapper (bash/sh/zsh with -c or -lc), else the words.
ShellWords command_words(std::string_view command);

}  // namespace coco::gates
