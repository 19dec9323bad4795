#pragma once
// Exactly one answer per request, by construction (the idea of clangd's ReplyOnce).
//
// Whoever handles a request from the editor gets a Reply. It answers at once, or moves the Reply
// into a callback and answers later (coco/task/join waits for workers). Whatever happens, the editor
// gets exactly one answer:
// - a second answer is a bug in the bridge: it is logged and dropped;
// - a Reply that is dropped unanswered (a handler that forgot, a callback never called) answers
//   -32603 by itself when its last owner lets go, so the editor never waits forever.
// A Reply cannot be copied, only moved.

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace coco::bridge {

class MethodTable;

class Reply {
public:
  // Gets the whole response, {id, result} or {id, error}, and sends it (and records it).
  using Send = std::function<void(nlohmann::json response)>;

  Reply(nlohmann::json id, std::string method, Send send);
  Reply(Reply&&) noexcept = default;
  Reply& operator=(Reply&&) noexcept = default;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  void operator()(nlohmann::json result);
  void error(int code, std::string_view message, nlohmann::json data = nullptr);
  bool answered() const;
  const std::string& method() const;

private:
  friend class MethodTable;  // keeps a second handle while a handler runs, to answer for its exceptions
  struct State;
  // For MethodTable, through the handle it kept: true when nobody has answered yet; answers an error.
  static bool unanswered(const std::shared_ptr<State>& state);
  static void fail(const std::shared_ptr<State>& state, int code, std::string_view message);
  std::shared_ptr<State> state_;
};

}  // namespace coco::bridge
