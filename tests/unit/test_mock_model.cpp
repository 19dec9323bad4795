// Tests for mockmodel/: script parsing, step selection, response plans, the HTTP parser, and the
// server over a real loopback socket.

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include "mockmodel/http_request_parser.h"
#include "mockmodel/log.h"
#include "mockmodel/mock_model.h"
#include "mockmodel/response_plan.h"
#include "mockmodel/script.h"
#include "mockmodel/server.h"
#include "mockmodel/step_selector.h"

using namespace coco::mockmodel;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Every wait in these tests is bounded by this deadline; nothing asserts on timing.
constexpr auto kDeadline = 10s;

// The server logs every request at info level; warnings are enough in test output.
const bool kQuietLogs = [] {
  logger().set_level(spdlog::level::warn);
  return true;
}();

// Checks that parsing fails with a message that starts with "<name>:<line>:" and mentions `what`.
void check_bad_script(const std::string& yaml, int line, const std::string& what) {
  CAPTURE(yaml);
  try {
    parse_script(yaml, "bad.yaml");
    FAIL("no error");
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    CAPTURE(message);
    CHECK(message.starts_with("bad.yaml:" + std::to_string(line) + ":"));
    CHECK(message.find(what) != std::string::npos);
  }
}

// A request body shaped like codex's: developer instructions, environment context, then the prompt.
std::string codex_body(const std::string& prompt, const json& extra_items = json::array()) {
  json input = json::array();
  input.push_back(
      {{"type", "message"},
       {"role", "developer"},
       {"content", {{{"type", "input_text"}, {"text", "You are Codex. Never fail; stay safe."}}}}});
  input.push_back(
      {{"type", "message"},
       {"role", "user"},
       {"content", {{{"type", "input_text"}, {"text", "<environment_context><cwd>/w/a</cwd>"}}}}});
  input.push_back(
      {{"type", "message"}, {"role", "user"}, {"content", {{{"type", "input_text"}, {"text", prompt}}}}});
  for (const auto& item : extra_items) {
    input.push_back(item);
  }
  return json{{"model", "mock-model"}, {"stream", true}, {"input", input}}.dump();
}

std::vector<std::string> event_types(const ResponsePlan& plan) {
  std::vector<std::string> types;
  for (const auto& record : plan.records) {
    types.push_back(record.event);
  }
  return types;
}

// --- a small HTTP client for the loopback tests, with a deadline on every read ---

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
  bool complete = false;                       // false: the server closed before the end of the body
};

// Takes one reply off the front of `buffer` once it is complete (or, at EOF, whatever arrived).
std::optional<HttpReply> take_reply(std::string& buffer, bool eof) {
  auto head_end = buffer.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    return std::nullopt;
  }
  HttpReply reply;
  std::istringstream head(buffer.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  reply.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    reply.headers[name] = line.substr(colon + 2);
  }
  std::size_t position = head_end + 4;
  if (reply.headers["transfer-encoding"] == "chunked") {
    for (;;) {
      auto size_end = buffer.find("\r\n", position);
      if (size_end == std::string::npos) {
        break;
      }
      std::size_t size = std::stoul(buffer.substr(position, size_end - position), nullptr, 16);
      if (buffer.size() < size_end + 2 + size + 2) {
        break;
      }
      if (size == 0) {
        reply.complete = true;
        position = size_end + 4;
        break;
      }
      reply.body += buffer.substr(size_end + 2, size);
      position = size_end + 2 + size + 2;
    }
  } else {
    std::size_t length = std::stoul(reply.headers["content-length"]);
    if (buffer.size() >= position + length) {
      reply.body = buffer.substr(position, length);
      reply.complete = true;
      position += length;
    }
  }
  if (!reply.complete && !eof) {
    return std::nullopt;
  }
  buffer.erase(0, reply.complete ? position : buffer.size());
  return reply;
}

class TestClient {
public:
  explicit TestClient(std::uint16_t port) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    socket_.set_option(asio::ip::tcp::no_delay(true));
  }

  // Sends bytes in pieces of `piece` bytes, each its own write (and, with no_delay, its own segment).
  void send(std::string_view bytes, std::size_t piece = std::string::npos) {
    while (!bytes.empty()) {
      auto n = std::min(piece, bytes.size());
      asio::write(socket_, asio::buffer(bytes.substr(0, n)));
      bytes.remove_prefix(n);
    }
  }

  void post(const std::string& body, const std::string& path = "/v1/responses",
            std::size_t piece = std::string::npos) {
    send("POST " + path +
             " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body,
         piece);
  }

  // Reads one reply; fails the test if none arrives before the deadline.
  HttpReply read_reply() {
    if (auto reply = take_reply(buffer_, eof_)) {
      return *reply;
    }
    std::optional<HttpReply> reply;
    std::array<char, 4096> chunk{};
    std::function<void()> read_more = [&] {
      socket_.async_read_some(asio::buffer(chunk), [&](const std::error_code& error, std::size_t n) {
        eof_ = static_cast<bool>(error);
        buffer_.append(chunk.data(), n);
        reply = take_reply(buffer_, eof_);
        if (!reply && !eof_) {
          read_more();
        }
      });
    };
    read_more();
    io_.restart();
    io_.run_for(kDeadline);
    if (!reply) {
      socket_.cancel();
      io_.restart();
      io_.run();  // lets the cancelled read finish while `chunk` and `reply` still exist
    }
    REQUIRE_MESSAGE(reply.has_value(), "no reply before the deadline");
    return *reply;
  }

  // True once the server has closed the connection (waits up to the deadline).
  bool closed_by_server() {
    if (eof_) {
      return true;
    }
    std::array<char, 256> chunk{};
    std::function<void()> read_more = [&] {
      socket_.async_read_some(asio::buffer(chunk), [&](const std::error_code& error, std::size_t n) {
        buffer_.append(chunk.data(), n);
        eof_ = static_cast<bool>(error);
        if (!eof_) {
          read_more();
        }
      });
    };
    read_more();
    io_.restart();
    io_.run_for(kDeadline);
    if (!eof_) {
      socket_.cancel();
      io_.restart();
      io_.run();
    }
    return eof_;
  }

  void close() { socket_.close(); }

private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_{io_};
  std::string buffer_;
  bool eof_ = false;
};

struct SseEvent {
  std::string type;
  json data;
};

std::vector<SseEvent> parse_sse(const std::string& body) {
  std::vector<SseEvent> events;
  std::size_t position = 0;
  for (auto end = body.find("\n\n"); end != std::string::npos; end = body.find("\n\n", position)) {
    std::string record = body.substr(position, end - position);
    position = end + 2;
    auto newline = record.find('\n');
    REQUIRE(record.starts_with("event: "));
    REQUIRE(record.substr(newline + 1).starts_with("data: "));
    events.push_back({record.substr(7, newline - 7), json::parse(record.substr(newline + 7))});
  }
  CHECK(position == body.size());
  return events;
}

// The assistant text of an SSE stream (from its output_item.done messages).
std::string message_text(const std::vector<SseEvent>& events) {
  std::string text;
  for (const auto& event : events) {
    if (event.type == "response.output_item.done" && event.data["item"]["type"] == "message") {
      text += event.data["item"]["content"][0]["text"].get<std::string>();
    }
  }
  return text;
}

// Polls a condition until it holds or the deadline passes (for state that has no event to wait on).
bool eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

}  // namespace

TEST_SUITE("mockmodel.script") {
  TEST_CASE("every step kind parses") {
    auto script = parse_script(R"(
steps:
  - message: "Hello"
    stream: true
    interval_ms: 20
  - exec: "echo hi > out.txt"
    escalated: true
    workdir: sub
    args: {yield_time_ms: 5000, tty: false}
  - patch: |
      *** Begin Patch
      *** End Patch
    call_id: call_p
  - reasoning: "thinking"
  - item: {type: message, role: assistant, id: "42", n: 42, f: 1.5, ok: true, none: null,
           content: [{type: output_text, text: hi}]}
  - items:
      - message: one
      - exec: ls
    when: "list"
    repeat: true
    delay_ms: 100
    usage: {input_tokens: 7, output_tokens: 3}
  - fail: "boom"
    code: rate_limit_exceeded
  - http_status: 503
    body: "{}"
  - disconnect: true
)",
                               "s.yaml");
    REQUIRE(script.steps.size() == 9);
    CHECK(script.name == "s.yaml");

    const auto& message = std::get<MessageOutput>(script.steps[0].outputs.at(0));
    CHECK(message.text == "Hello");
    CHECK(message.stream);
    CHECK(script.steps[0].interval == 20ms);
    CHECK(script.steps[0].line == 3);

    const auto& exec = std::get<ExecOutput>(script.steps[1].outputs.at(0));
    CHECK(exec.command == "echo hi > out.txt");
    CHECK(exec.escalated);
    CHECK(!exec.justification.empty());  // a default question, since codex shows it in the approval
    CHECK(exec.workdir == "sub");
    CHECK(exec.extra_args == json{{"yield_time_ms", 5000}, {"tty", false}});
    CHECK(script.steps[1].line == 6);

    const auto& patch = std::get<PatchOutput>(script.steps[2].outputs.at(0));
    CHECK(patch.patch == "*** Begin Patch\n*** End Patch\n");
    CHECK(patch.call_id == "call_p");

    CHECK(std::get<ReasoningOutput>(script.steps[3].outputs.at(0)).summary == "thinking");

    const auto& raw = std::get<RawOutput>(script.steps[4].outputs.at(0)).item;
    CHECK(raw["id"] == "42");  // quoted: stays a string
    CHECK(raw["n"] == 42);
    CHECK(raw["f"] == 1.5);
    CHECK(raw["ok"] == true);
    CHECK(raw["none"].is_null());
    CHECK(raw["content"][0]["text"] == "hi");

    const auto& several = script.steps[5];
    REQUIRE(several.outputs.size() == 2);
    CHECK(std::holds_alternative<MessageOutput>(several.outputs[0]));
    CHECK(std::holds_alternative<ExecOutput>(several.outputs[1]));
    CHECK(several.when == "list");
    CHECK(several.repeat);
    CHECK(several.delay == 100ms);
    REQUIRE(several.usage.has_value());
    CHECK(several.usage->input_tokens == 7);

    CHECK(script.steps[6].fail == "boom");
    CHECK(script.steps[6].fail_code == "rate_limit_exceeded");
    CHECK(script.steps[7].http_status == 503);
    CHECK(script.steps[7].http_body == "{}");
    CHECK(script.steps[8].disconnect);
  }

  TEST_CASE("an empty step list is allowed") {
    CHECK(parse_script("steps:\n").steps.empty());
    CHECK(parse_script("steps: []\n").steps.empty());
  }

  TEST_CASE("bad scripts name the file and line") {
    check_bad_script("steps:\n  - message: hi\n    exce: ls\n", 3, "unknown key `exce`");
    check_bad_script("steps:\n  - message: hi\n    exec: ls\n", 3, "use `items:`");
    check_bad_script("steps:\n  - exec: ls\n    stream: true\n", 3, "`stream` only applies to `message`");
    check_bad_script("steps:\n  - message: hi\n    workdir: /x\n", 3, "`workdir` only applies to `exec`");
    check_bad_script("steps:\n  - message: hi\n    items: [{message: a}]\n", 3, "`items` and `message`");
    check_bad_script("steps:\n  - items: [{message: a, when: x}]\n", 2,
                     "`when` is not allowed in an `items` entry");
    check_bad_script("steps:\n  - items: []\n", 2, "non-empty list");
    check_bad_script("steps:\n  - message: hi\n    http_status: 500\n", 3, "`http_status` replaces");
    check_bad_script("steps:\n  - message: hi\n    code: x\n", 3, "`code` only applies to `fail`");
    check_bad_script("steps:\n  - message: hi\n    body: x\n", 3, "`body` only applies to `http_status`");
    check_bad_script("steps:\n  - when: x\n", 2, "step sends nothing");
    check_bad_script("steps:\n  - message: hi\n    delay_ms: -5\n", 3, "non-negative integer");
    check_bad_script("steps:\n  - message: hi\n    delay_ms: soon\n", 3, "non-negative integer");
    check_bad_script("steps:\n  - message: hi\n    stream: maybe\n", 3, "true or false");
    check_bad_script("steps:\n  - message: [a, b]\n", 2, "`message` must be a string");
    check_bad_script("steps:\n  - http_status: 99\n", 2, "HTTP status code");
    check_bad_script("steps:\n  - item: {role: assistant}\n", 2, "`item` needs a string `type`");
    check_bad_script("steps:\n  - message: hi\n    usage: {input: 1}\n", 3, "unknown key `input` in usage");
    check_bad_script("steps:\n  - message: hi\n    when: \"\"\n", 3, "must not be empty");
    check_bad_script("steps:\n  - message: hi\n    - oops\n", 3, "end of map not found");  // YAML syntax
    check_bad_script("steps:\n  message: hi\n", 2, "`steps` must be a list");
    check_bad_script("\nstep:\n  - message: hi\n", 2, "unknown top-level key `step`");
    check_bad_script("\n- message: hi\n", 2, "a script is a map");
  }

  TEST_CASE("load_script reports a missing file by name") {
    try {
      load_script("/nonexistent/script.yaml");
      FAIL("no error");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find("/nonexistent/script.yaml") != std::string::npos);
    }
  }

  TEST_CASE("every shipped script parses") {
    int count = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(COCO_SOURCE_DIR) + "/mockmodel/scripts")) {
      if (entry.path().extension() == ".yaml") {
        CAPTURE(entry.path());
        CHECK_NOTHROW(load_script(entry.path()));
        ++count;
      }
    }
    CHECK(count > 0);
  }
}

TEST_SUITE("mockmodel.selection") {
  TEST_CASE("steps are taken in order, then the script is exhausted") {
    StepSelector selector(parse_script("steps:\n  - message: one\n  - message: two\n").steps);
    CHECK(selector.unused().size() == 2);
    CHECK(std::get<MessageOutput>(selector.take(codex_body("hi"))->outputs[0]).text == "one");
    CHECK(std::get<MessageOutput>(selector.take(codex_body("hi"))->outputs[0]).text == "two");
    CHECK(selector.take(codex_body("hi")) == nullptr);
    CHECK(selector.unused().empty());
  }

  TEST_CASE("`when` picks the first unused step whose text is in the conversation") {
    StepSelector selector(parse_script(R"(
steps:
  - when: "task B"
    message: b
  - when: "task A"
    message: a1
  - message: any
  - when: "task A"
    message: a2
)")
                              .steps);
    auto text = [](const Step* step) { return std::get<MessageOutput>(step->outputs.at(0)).text; };
    CHECK(text(selector.take(codex_body("do task A"))) == "a1");
    CHECK(text(selector.take(codex_body("do task A"))) == "any");  // no `when`: matches anything
    CHECK(text(selector.take(codex_body("do task A"))) == "a2");
    CHECK(selector.take(codex_body("do task A")) == nullptr);
    CHECK(text(selector.take(codex_body("do task B"))) == "b");
  }

  TEST_CASE("`when` ignores codex's instructions but sees tool output and context") {
    StepSelector selector(parse_script(R"(
steps:
  - when: "Never fail"
    message: instructions
  - when: "Process exited with code 0"
    message: output
  - when: "<cwd>/w/a</cwd>"
    message: cwd
  - when: 'say "hi"'
    message: quoted
)")
                              .steps);
    auto text = [](const Step* step) {
      return step ? std::get<MessageOutput>(step->outputs.at(0)).text : "-";
    };
    json output = json::array({{{"type", "function_call_output"},
                                {"call_id", "call_1"},
                                {"output", "Process exited with code 0\nOutput:\nhi\n"}}});
    CHECK(text(selector.take(codex_body("go", output))) == "output");
    CHECK(text(selector.take(codex_body("go"))) == "cwd");
    CHECK(text(selector.take(codex_body("please say \"hi\"\nthanks"))) ==
          "quoted");  // JSON-escaped in the body
    CHECK(selector.take(codex_body("go")) == nullptr);
    CHECK(selector.unused().size() == 1);  // the instructions step never matched
  }

  TEST_CASE("a repeating step is never consumed") {
    StepSelector selector(parse_script(R"(
steps:
  - when: "ping"
    message: pong
    repeat: true
  - message: once
)")
                              .steps);
    for (int i = 0; i < 3; ++i) {
      CHECK(std::get<MessageOutput>(selector.take(codex_body("ping"))->outputs[0]).text == "pong");
    }
    CHECK(std::get<MessageOutput>(selector.take(codex_body("other"))->outputs[0]).text == "once");
    CHECK(selector.take(codex_body("other")) == nullptr);
    CHECK(selector.unused().empty());  // repeating steps never count as unused
  }

  TEST_CASE("a body that is not JSON is searched as text") {
    CHECK(conversation_contains("plain text body", "text"));
    CHECK_FALSE(conversation_contains("plain text body", "json"));
  }
}

TEST_SUITE("mockmodel.responses") {
  TEST_CASE("a plain message is created, done, completed") {
    IdGenerator ids;
    auto script = parse_script("steps:\n  - message: Hello\n");
    auto plan = plan_response(script.steps[0], 400, ids);
    CHECK(plan.http_status == 0);  // a stream
    CHECK(event_types(plan) ==
          std::vector<std::string>{"response.created", "response.output_item.done", "response.completed"});
    for (const auto& record : plan.records) {
      CHECK(record.data["type"] == record.event);
    }
    CHECK(plan.records[0].data["response"]["id"] == "resp_1");
    const auto& item = plan.records[1].data["item"];
    CHECK(item == json::parse(R"({"type":"message","role":"assistant","id":"msg_1",
                                  "content":[{"type":"output_text","text":"Hello"}]})"));
    const auto& usage = plan.records[2].data["response"]["usage"];
    CHECK(usage["input_tokens"] == 100);  // estimated from the request size
    CHECK(usage["total_tokens"] == usage["input_tokens"].get<int>() + usage["output_tokens"].get<int>());
    CHECK(plan.records[2].data["response"]["id"] == "resp_1");
    CHECK(plan.records[0].wire().starts_with("event: response.created\ndata: {"));
    CHECK(plan.records[0].wire().ends_with("}\n\n"));
  }

  TEST_CASE("a streamed message announces the item and sends deltas that add up to the text") {
    IdGenerator ids;
    auto script = parse_script("steps:\n  - message: \"Streaming works: these words arrive as deltas.\"\n"
                               "    stream: true\n");
    auto plan = plan_response(script.steps[0], 10, ids);
    auto types = event_types(plan);
    CHECK(types.front() == "response.created");
    CHECK(types[1] == "response.output_item.added");
    CHECK(types[types.size() - 2] == "response.output_item.done");
    CHECK(types.back() == "response.completed");
    std::string text;
    int deltas = 0;
    for (const auto& record : plan.records) {
      if (record.event == "response.output_text.delta") {
        CHECK(record.data["item_id"] == "msg_1");
        text += record.data["delta"].get<std::string>();
        ++deltas;
      }
    }
    CHECK(deltas > 1);
    CHECK(text == "Streaming works: these words arrive as deltas.");
  }

  TEST_CASE("exec and apply_patch calls carry what codex expects") {
    IdGenerator ids;
    auto script = parse_script(R"(
steps:
  - items:
      - exec: "echo hi > out.txt"
        escalated: true
        justification: "Write out.txt?"
        workdir: sub
      - exec: ls
        call_id: call_ls
      - patch: "*** Begin Patch\n*** End Patch\n"
)");
    auto plan = plan_response(script.steps[0], 10, ids);
    REQUIRE(plan.records.size() == 5);
    const auto& escalated = plan.records[1].data["item"];
    CHECK(escalated["type"] == "function_call");
    CHECK(escalated["name"] == "exec_command");
    CHECK(escalated["call_id"] == "call_1");
    CHECK(json::parse(escalated["arguments"].get<std::string>()) ==
          json{{"cmd", "echo hi > out.txt"},
               {"yield_time_ms", 30000},
               {"workdir", "sub"},
               {"sandbox_permissions", "require_escalated"},
               {"justification", "Write out.txt?"}});
    CHECK(plan.records[1].data["output_index"] == 0);
    const auto& plain = plan.records[2].data["item"];
    CHECK(plain["call_id"] == "call_ls");
    CHECK(json::parse(plain["arguments"].get<std::string>()) == json{{"cmd", "ls"}, {"yield_time_ms", 30000}});
    CHECK(plain["id"] != escalated["id"]);
    const auto& patch = plan.records[3].data["item"];
    CHECK(patch["type"] == "custom_tool_call");
    CHECK(patch["name"] == "apply_patch");
    CHECK(patch["input"] == "*** Begin Patch\n*** End Patch\n");
    CHECK(patch["call_id"] == "call_2");
  }

  TEST_CASE("ids stay unique across responses") {
    IdGenerator ids;
    auto script = parse_script("steps:\n  - items: [{message: a}, {message: b}]\n");
    auto first = plan_response(script.steps[0], 10, ids);
    auto second = plan_response(script.steps[0], 10, ids);
    CHECK(first.records[0].data["response"]["id"] == "resp_1");
    CHECK(second.records[0].data["response"]["id"] == "resp_2");
    CHECK(first.records[1].data["item"]["id"] == "msg_1");
    CHECK(first.records[2].data["item"]["id"] == "msg_2");
    CHECK(second.records[1].data["item"]["id"] == "msg_3");
  }

  TEST_CASE("failures, disconnects, HTTP errors and usage overrides") {
    IdGenerator ids;
    auto script = parse_script(R"(
steps:
  - fail: "boom"
  - message: partial
    disconnect: true
  - http_status: 500
  - message: hi
    usage: {input_tokens: 7, output_tokens: 3}
)");
    auto failed = plan_response(script.steps[0], 10, ids);
    CHECK(event_types(failed) == std::vector<std::string>{"response.created", "response.failed"});
    CHECK(failed.records[1].data["response"]["error"] == json{{"code", "server_error"}, {"message", "boom"}});

    auto dropped = plan_response(script.steps[1], 10, ids);
    CHECK(dropped.disconnect);
    CHECK(event_types(dropped) == std::vector<std::string>{"response.created", "response.output_item.done"});

    auto http = plan_response(script.steps[2], 10, ids);
    CHECK(http.http_status == 500);
    CHECK(http.records.empty());
    CHECK(json::parse(http.body)["error"]["message"].is_string());

    // Even a 200 is sent as written (e.g. a body that is not an event stream at all).
    auto ok =
        plan_response(parse_script("steps:\n  - http_status: 200\n    body: nonsense\n").steps[0], 10, ids);
    CHECK(ok.http_status == 200);
    CHECK(ok.body == "nonsense");
    CHECK(ok.records.empty());

    auto usage = plan_response(script.steps[3], 10, ids).records.back().data["response"]["usage"];
    CHECK(usage["input_tokens"] == 7);
    CHECK(usage["output_tokens"] == 3);
    CHECK(usage["total_tokens"] == 10);
  }

  TEST_CASE("the exhausted answer is a plain message") {
    IdGenerator ids;
    auto plan = plan_response(exhausted_step(), 10, ids);
    CHECK(plan.records[1].data["item"]["content"][0]["text"] == "(mock-model: script exhausted)");
  }

  TEST_CASE("streaming pieces never split a UTF-8 character") {
    std::string text = "Grüße aus Köln! 日本語のテキストはスペースなしで続きます。 done";
    auto pieces = split_for_streaming(text);
    CHECK(pieces.size() > 3);
    std::string joined;
    for (const auto& piece : pieces) {
      CHECK(!piece.empty());
      CHECK((static_cast<unsigned char>(piece.front()) & 0xC0) != 0x80);  // starts on a character
      CHECK(json(piece).dump().size() > 0);  // valid UTF-8, or dump() would throw
      joined += piece;
    }
    CHECK(joined == text);
    CHECK(split_for_streaming("").empty());
  }
}

TEST_SUITE("mockmodel.http") {
  const std::string kRequest = "POST /v1/responses?x=1 HTTP/1.1\r\nHost: h\r\ncOnTeNt-LeNgTh: 11\r\n"
                               "X-Thing:  spaced value  \r\n\r\nhello world";

  TEST_CASE("a request fed one byte at a time") {
    HttpRequestParser parser;
    std::optional<HttpRequest> request;
    for (std::size_t i = 0; i < kRequest.size(); ++i) {
      CHECK_FALSE(request.has_value());
      parser.feed(kRequest.substr(i, 1));
      request = parser.next();
    }
    REQUIRE(request.has_value());
    CHECK(request->method == "POST");
    CHECK(request->target == "/v1/responses?x=1");
    CHECK(request->path() == "/v1/responses");
    REQUIRE(request->header("content-length") != nullptr);
    CHECK(*request->header("x-thing") == "spaced value");
    CHECK(request->body == "hello world");
    CHECK(request->keep_alive());
    CHECK(parser.buffered() == 0);
  }

  TEST_CASE("a chunked body with extensions and trailers, byte by byte") {
    std::string chunked = "POST /v1/responses HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
    HttpRequestParser parser;
    std::optional<HttpRequest> request;
    for (char c : chunked) {
      parser.feed(std::string_view(&c, 1));
      if (auto next = parser.next()) {
        request = std::move(next);
      }
    }
    REQUIRE(request.has_value());
    CHECK(request->body == "hello world");
  }

  TEST_CASE("pipelined requests and keep-alive rules") {
    HttpRequestParser parser;
    parser.feed(kRequest + "GET /v1/models HTTP/1.1\r\nConnection: close\r\n\r\n" +
                "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    auto first = parser.next();
    auto second = parser.next();
    auto third = parser.next();
    auto fourth = parser.next();
    REQUIRE((first && second && third && fourth));
    CHECK(first->keep_alive());
    CHECK(second->method == "GET");
    CHECK(second->body.empty());
    CHECK_FALSE(second->keep_alive());
    CHECK_FALSE(third->keep_alive());
    CHECK(fourth->keep_alive());
    CHECK_FALSE(parser.next().has_value());
  }

  TEST_CASE("bare LF line endings are accepted") {
    HttpRequestParser parser;
    parser.feed("POST /x HTTP/1.1\nContent-Length: 2\n\nok");
    auto request = parser.next();
    REQUIRE(request.has_value());
    CHECK(request->body == "ok");
  }

  TEST_CASE("Expect: 100-continue is reported once") {
    HttpRequestParser parser;
    parser.feed("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
    CHECK_FALSE(parser.next().has_value());
    CHECK(parser.take_continue_request());
    CHECK_FALSE(parser.take_continue_request());
    parser.feed("ok");
    CHECK(parser.next()->body == "ok");
  }

  TEST_CASE("malformed requests carry an HTTP status") {
    auto status_of = [](const std::string& bytes) {
      HttpRequestParser parser;
      parser.feed(bytes);
      try {
        parser.next();
      } catch (const HttpParseError& e) {
        return e.status;
      }
      return 0;
    };
    CHECK(status_of("POST /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n") == 400);
    CHECK(status_of("NONSENSE\r\n\r\n") == 400);
    CHECK(status_of("POST /x HTTP/1.1\r\nno colon\r\n\r\n") == 400);
    CHECK(status_of("POST /x HTTP/2.0\r\n\r\n") == 505);
    CHECK(status_of("POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") == 501);
    CHECK(status_of("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == 400);
    CHECK(status_of("POST /x HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n") == 413);
    CHECK(status_of(std::string(HttpRequestParser::kMaxHeadBytes + 10, 'a')) == 431);
  }
}

TEST_SUITE("mockmodel.server") {
  TEST_CASE("a streamed answer over a real socket, then keep-alive, exhaustion and other paths") {
    BackgroundServer server(parse_script(R"(
steps:
  - message: "Hello from the mock model."
    stream: true
  - exec: "echo hi"
)"));
    TestClient client(server.port());

    client.post(codex_body("hi"));
    auto reply = client.read_reply();
    CHECK(reply.status == 200);
    CHECK(reply.headers["content-type"] == "text/event-stream");
    CHECK(reply.complete);
    auto events = parse_sse(reply.body);
    REQUIRE(events.size() >= 4);
    CHECK(events.front().type == "response.created");
    CHECK(events.back().type == "response.completed");
    CHECK(events.back().data["response"]["usage"]["input_tokens"].get<int>() > 0);
    CHECK(message_text(events) == "Hello from the mock model.");

    client.post(codex_body("again"));  // same connection
    events = parse_sse(client.read_reply().body);
    REQUIRE(events.size() == 3);
    CHECK(events[1].data["item"]["name"] == "exec_command");

    client.post(codex_body("more"));
    CHECK(message_text(parse_sse(client.read_reply().body)) == "(mock-model: script exhausted)");

    client.send("GET /v1/models HTTP/1.1\r\nHost: h\r\n\r\n");
    reply = client.read_reply();
    CHECK(reply.status == 200);
    CHECK(json::parse(reply.body)["data"] == json::array());

    client.send("GET /v1/other HTTP/1.1\r\nHost: h\r\n\r\n");
    reply = client.read_reply();
    CHECK(reply.status == 404);
    CHECK(json::parse(reply.body)["error"]["message"].is_string());
    CHECK(server.server().responses_answered() == 3);
    CHECK(server.server().unused_steps().empty());
  }

  TEST_CASE("a request split into small TCP writes, and a chunked request body") {
    BackgroundServer server(parse_script(R"(
steps:
  - when: "split"
    message: "got split"
  - when: "chunked"
    message: "got chunked"
)"));
    TestClient client(server.port());
    client.post(codex_body("a split request"), "/v1/responses", 7);
    CHECK(message_text(parse_sse(client.read_reply().body)) == "got split");

    std::string body = codex_body("a chunked request");
    std::string half = body.substr(0, body.size() / 2);
    std::string rest = body.substr(body.size() / 2);
    auto hex = [](std::size_t n) {
      std::ostringstream out;
      out << std::hex << n;
      return out.str();
    };
    client.send("POST /v1/responses HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + hex(half.size()) +
                    "\r\n" + half + "\r\n" + hex(rest.size()) + "\r\n" + rest + "\r\n0\r\n\r\n",
                5);
    CHECK(message_text(parse_sse(client.read_reply().body)) == "got chunked");
  }

  TEST_CASE("two concurrent requests each get their own step") {
    BackgroundServer server(parse_script(R"(
steps:
  - when: "worker A"
    message: "answer A"
  - when: "worker B"
    message: "answer B"
)"));
    TestClient a(server.port());
    TestClient b(server.port());
    a.post(codex_body("I am worker A"), "/v1/responses", 100);
    b.post(codex_body("I am worker B"), "/v1/responses", 100);
    CHECK(message_text(parse_sse(b.read_reply().body)) == "answer B");
    CHECK(message_text(parse_sse(a.read_reply().body)) == "answer A");
  }

  TEST_CASE("a delayed step does not block other connections, and a hang-up ends the delay") {
    BackgroundServer server(parse_script(R"(
steps:
  - when: "slow"
    message: "too late"
    delay_ms: 600000
  - when: "fast"
    message: "quick"
)"));
    TestClient slow(server.port());
    slow.post(codex_body("slow one"));
    REQUIRE(eventually([&] { return server.server().responses_answered() == 1; }));  // slow is now waiting
    TestClient fast(server.port());
    fast.post(codex_body("fast one"));
    CHECK(message_text(parse_sse(fast.read_reply().body)) == "quick");
    fast.close();
    slow.close();  // like codex on turn/interrupt
    CHECK(eventually([&] { return server.server().open_connections() == 0; }));
  }

  TEST_CASE("scripted failures over the wire") {
    BackgroundServer server(parse_script(R"(
steps:
  - fail: "scripted failure"
  - http_status: 429
  - message: partial
    disconnect: true
)"));
    TestClient client(server.port());
    client.post(codex_body("1"));
    auto events = parse_sse(client.read_reply().body);
    REQUIRE(events.size() == 2);
    CHECK(events[1].type == "response.failed");
    CHECK(events[1].data["response"]["error"]["message"] == "scripted failure");

    client.post(codex_body("2"));
    auto reply = client.read_reply();
    CHECK(reply.status == 429);
    CHECK(reply.headers["content-type"] == "application/json");

    client.post(codex_body("3"));
    reply = client.read_reply();
    CHECK_FALSE(reply.complete);  // the stream ends without its final chunk
    CHECK(message_text(parse_sse(reply.body)) == "partial");
    CHECK(client.closed_by_server());
  }

  TEST_CASE("a malformed request gets 400 and the connection closes") {
    BackgroundServer server(parse_script("steps: []\n"));
    TestClient client(server.port());
    client.send("POST /v1/responses HTTP/1.1\r\nContent-Length: nope\r\n\r\n");
    auto reply = client.read_reply();
    CHECK(reply.status == 400);
    CHECK(client.closed_by_server());
  }

  TEST_CASE("Connection: close is honoured") {
    BackgroundServer server(parse_script("steps:\n  - message: bye\n"));
    TestClient client(server.port());
    std::string body = codex_body("x");
    client.send("POST /v1/responses HTTP/1.1\r\nConnection: close\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
    CHECK(message_text(parse_sse(client.read_reply().body)) == "bye");
    CHECK(client.closed_by_server());
  }

  TEST_CASE("run() serves a script file until SIGTERM") {
    auto path = std::filesystem::temp_directory_path() /
                ("coco-mock-model-test-" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(path) << "steps:\n  - message: from run\n";
    std::promise<std::uint16_t> listening;
    auto result = std::async(std::launch::async, [&] {
      return run(Options{path, 0, "127.0.0.1"}, [&](std::uint16_t port) { listening.set_value(port); });
    });
    auto port_future = listening.get_future();
    REQUIRE(port_future.wait_for(kDeadline) == std::future_status::ready);
    std::uint16_t port = port_future.get();
    CHECK(port != 0);
    {
      TestClient client(port);
      client.post(codex_body("x"));
      CHECK(message_text(parse_sse(client.read_reply().body)) == "from run");
    }
    std::raise(SIGTERM);  // run() installed its handler before reporting the port
    REQUIRE(result.wait_for(kDeadline) == std::future_status::ready);
    CHECK(result.get() == 0);
    std::filesystem::remove(path);
  }

  TEST_CASE("run() rejects a bad script before listening") {
    auto path = std::filesystem::temp_directory_path() /
                ("coco-mock-model-bad-" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(path) << "steps:\n  - mesage: typo\n";
    bool listened = false;
    try {
      run(Options{path, 0, "127.0.0.1"}, [&](std::uint16_t) { listened = true; });
      FAIL("no error");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(path.string() + ":2:") != std::string::npos);
    }
    CHECK_FALSE(listened);
    std::filesystem::remove(path);
  }
}
