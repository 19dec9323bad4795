#include "gates/shell_words.h"

namespace coco::gates {

ShellWords split_shell_words(std::string_view s) {
  ShellWords out;
  std::string cur;
  bool in_word = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\'') {
      auto end = s.find('\'', i + 1);
      if (end == std::string_view::npos) {
        out.compound = true;
        end = s.size();
      }
      cur.append(s.substr(i + 1, end - i - 1));
      in_word = true;
      i = end;
    } else if (c == '"') {
      in_word = true;
      ++i;
      for (; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$' || s[i + 1] == '`')) {
          cur += s[++i];
        } else {
          if (s[i] == '$' || s[i] == '`') out.compound = true;  // expansion inside quotes
          cur += s[i];
        }
      }
      if (i >= s.size()) out.compound = true;
    } else if (c == '\\') {
      if (i + 1 < s.size()) cur += s[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) out.words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      if (c == ';' || c == '&' || c == '|' || c == '<' || c == '>' || c == '\n' || c == '`' || c == '(' || c == ')' ||
          (c == '$' && i + 1 < s.size() && s[i + 1] == '('))
        out.compound = true;
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.words.push_back(std::move(cur));
  return out;
}

ShellWords command_words(std::string_view command) {
  ShellWords outer = split_shell_words(command);
  const auto& w = outer.words;
  if (w.size() == 3 && !outer.compound) {
    std::string_view shell = w[0];
    auto slash = shell.rfind('/');
    if (slash != std::string_view::npos) shell = shell.substr(slash + 1);
    if ((shell == "bash" || shell == "sh" || shell == "zsh") && (w[1] == "-c" || w[1] == "-lc")) return split_shell_words(w[2]);
  }
  return outer;
}

}  // namespace coco::gates
