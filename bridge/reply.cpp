#include "bridge/reply.h"

#include "protocol/message.h"

#include <spdlog/spdlog.h>

namespace coco::bridge {

using json = nlohmann::json;

struct Reply::State {
  State(json id_, std::string method_, Send send_) : id(std::move(id_)), method(std::move(method_)), send(std::move(send_)) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  json id;
  std::string method;
  Send send;
  bool answered = false;

  void answer(json response) {
    if (answered) {
      spdlog::error("bug: a second answer to {} (id {}) was dropped: {}", method, id.dump(), response.dump());
      return;
    }
    answered = true;
    try {
      if (send) send(std::move(response));
    } catch (const std::exception& e) {
      spdlog::error("could not send the answer to {}: {}", method, e.what());
    }
  }

  ~State() {
    if (!answered) {
      spdlog::error("bug: {} (id {}) was left unanswered; answering with an internal error", method, id.dump());
      answer(protocol::make_error(id, protocol::error_code::kInternalError,
                                  "Internal error: the bridge did not answer " + method));
    }
  }
};

Reply::Reply(json id, std::string method, Send send)
    : state_(std::make_shared<State>(std::move(id), std::move(method), std::move(send))) {}

void Reply::operator()(json result) {
  if (!state_) return;
  state_->answer(protocol::make_result(state_->id, std::move(result)));
}

void Reply::error(int code, std::string_view message, json data) {
  if (!state_) return;
  state_->answer(protocol::make_error(state_->id, code, message, std::move(data)));
}

bool Reply::unanswered(const std::shared_ptr<State>& state) { return state && !state->answered; }

void Reply::fail(const std::shared_ptr<State>& state, int code, std::string_view message) {
  if (unanswered(state)) state->answer(protocol::make_error(state->id, code, message));
}

bool Reply::answered() const { return !state_ || state_->answered; }

const std::string& Reply::method() const {
  static const std::string none;
  return state_ ? state_->method : none;
}

}  // namespace coco::bridge
