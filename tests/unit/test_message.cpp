// Message classification, the envelope scanner and id mapping.
#include "protocol/envelope.h"
#include "protocol/id_map.h"
#include "protocol/message.h"

#include <doctest/doctest.h>

using namespace coco::protocol;

TEST_CASE("classify tells requests, notifications, responses and junk apart") {
  CHECK(classify(json::parse(R"({"id":1,"method":"a"})")).kind == Kind::Request);
  CHECK(classify(json::parse(R"({"id":"x","method":"a","params":{}})")).kind == Kind::Request);
  CHECK(classify(json::parse(R"({"method":"a"})")).kind == Kind::Notification);
  CHECK(classify(json::parse(R"({"id":1,"result":null})")).kind == Kind::Response);
  CHECK(classify(json::parse(R"({"id":null,"error":{"code":1,"message":"m"}})")).kind == Kind::Response);
  auto bad_id = classify(json::parse(R"({"id":1.5,"method":"a"})"));
  CHECK(bad_id.kind == Kind::Invalid);
  CHECK(bad_id.problem.find("id") != std::string::npos);
  CHECK(classify(json::parse(R"({"id":{},"method":"a"})")).kind == Kind::Invalid);
  CHECK(classify(json::parse(R"({"method":3})")).kind == Kind::Invalid);
  CHECK(classify(json::parse(R"({"method":"a","params":3})")).kind == Kind::Invalid);
  CHECK(classify(json::parse(R"([1,2])")).kind == Kind::Invalid);
  CHECK(classify(json::parse(R"("str")")).kind == Kind::Invalid);
  auto nothing = classify(json::parse(R"({"id":7})"));
  CHECK(nothing.kind == Kind::Invalid);
  CHECK(nothing.id == 7);  // kept so the error can name it
}

TEST_CASE("to_line never emits a raw newline") {
  json j = json::parse("{\n \"a\": \"x\\ny\"\n}");
  std::string line = to_line(j);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(json::parse(line) == j);
}

TEST_CASE("scan_envelope finds kind, method and id span without parsing") {
  std::string n = R"({"method":"item/agentMessage/delta","params":{"delta":"}{\"id\":9","x":[1,{"id":2}]},"emittedAtMs":1})";
  auto e = scan_envelope(n);
  CHECK(e.valid);
  CHECK(e.is_notification());
  CHECK(e.method == "item/agentMessage/delta");

  std::string r = R"({ "id" : 42 , "result" : {"id":"inner"} })";
  e = scan_envelope(r);
  CHECK(e.is_response());
  CHECK(r.substr(e.id_begin, e.id_end - e.id_begin) == "42");

  std::string q = R"({"id":"abc","method":"item/commandExecution/requestApproval","params":{}})";
  e = scan_envelope(q);
  CHECK(e.is_request());
  CHECK(q.substr(e.id_begin, e.id_end - e.id_begin) == "\"abc\"");
  CHECK(e.has_params);
  CHECK(e.params_first == '{');
  // What params starts with tells a large message that needs its -32600 from the full parse.
  CHECK(scan_envelope(R"({"id":1,"method":"m","params":"x"})").params_first == '"');
  CHECK(scan_envelope(R"({"id":1,"method":"m","params": [1]})").params_first == '[');
  CHECK_FALSE(scan_envelope(R"({"id":1,"method":"m"})").has_params);

  CHECK_FALSE(scan_envelope("{\"method\":\"a\"").valid);       // truncated
  CHECK_FALSE(scan_envelope("{\"method\":\"a\"} x").valid);    // trailing junk
  CHECK_FALSE(scan_envelope("{\"\\u006dethod\":\"a\"}").valid); // escaped key: full parse decides
  CHECK_FALSE(scan_envelope("[]").valid);
  CHECK(scan_envelope("{\"method\":\"a\\/b\"}").method_has_escapes);
  CHECK(scan_envelope("{}").valid);
}

TEST_CASE("colliding ids from both sides map back to their own senders") {
  // The editor's request 0 and codex's request 0 are different requests. The payload stands for the
  // callback that knows the original sender's id.
  using Pending = PendingRequests<json>;
  Pending to_codex, to_editor;
  auto w1 = to_codex.add({"thread/start", 1, json(0)});
  auto w2 = to_codex.add({"turn/start", 1, json("0")});
  auto w3 = to_editor.add({"item/commandExecution/requestApproval", 1, json(0)});
  CHECK(w1 != w2);
  auto e2 = to_codex.take(json(w2));
  REQUIRE(e2);
  CHECK(e2->on_response == json("0"));  // a string id stays a string
  CHECK(e2->method == "turn/start");
  auto e3 = to_editor.take(json(w3));
  REQUIRE(e3);
  CHECK(e3->on_response == json(0));
  CHECK_FALSE(to_codex.take(json(w2)));             // exactly once
  CHECK_FALSE(to_codex.take(json("1")));            // we only issue integers
  CHECK_FALSE(to_codex.take(json(99999)));
  auto rest = to_codex.take_all();
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].second.on_response == json(0));
  CHECK(to_codex.size() == 0);
}

TEST_CASE("pending requests expire at their deadline, oldest first, and only those") {
  using Pending = PendingRequests<int>;
  using Clock = Pending::Clock;
  Pending p;
  auto now = Clock::now();
  auto a = p.add({"a", 1, 1, now + std::chrono::seconds(5)});
  auto b = p.add({"b", 1, 2, now + std::chrono::seconds(1)});
  p.add({"c", 1, 3});  // no deadline
  CHECK(p.next_deadline() == now + std::chrono::seconds(1));
  CHECK(p.take_expired(now).empty());
  auto expired = p.take_expired(now + std::chrono::seconds(10));
  REQUIRE(expired.size() == 2);
  CHECK(expired[0].first == a);
  CHECK(expired[1].first == b);
  CHECK(p.size() == 1);
  CHECK(p.next_deadline() == Clock::time_point::max());
}

TEST_CASE("make_error builds a JSON-RPC error with optional data") {
  auto e = make_error(nullptr, error_code::kParseError, "Parse error");
  CHECK(e["id"].is_null());
  CHECK(e["error"]["code"] == -32700);
  CHECK_FALSE(e["error"].contains("data"));
  auto d = make_error(5, error_code::kUpstreamExited, "gone", {{"method", "turn/start"}});
  CHECK(d["error"]["data"]["method"] == "turn/start");
}
