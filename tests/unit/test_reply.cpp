// Exactly one answer per request, by construction, and one place that maps exceptions to errors.
#include "bridge/method_table.h"
#include "bridge/reply.h"

#include <doctest/doctest.h>

#include <memory>
#include <vector>

using namespace coco::bridge;
using json = nlohmann::json;

namespace {

struct Sent {
  std::vector<json> responses;
  Reply::Send sink() {
    return [this](json r) { responses.push_back(std::move(r)); };
  }
};

}  // namespace

TEST_CASE("a reply answers once; a second answer is dropped") {
  Sent sent;
  {
    Reply r(json(7), "coco/x", sent.sink());
    r(json{{"ok", true}});
    r(json{{"ok", false}});
    r.error(-1, "late");
    CHECK(r.answered());
  }
  REQUIRE(sent.responses.size() == 1);
  CHECK(sent.responses[0] == json{{"id", 7}, {"result", {{"ok", true}}}});
}

TEST_CASE("a reply dropped unanswered answers an internal error by itself") {
  Sent sent;
  { Reply r(json("a"), "coco/forgot", sent.sink()); }
  REQUIRE(sent.responses.size() == 1);
  CHECK(sent.responses[0]["id"] == "a");
  CHECK(sent.responses[0]["error"]["code"] == -32603);
}

TEST_CASE("a moved reply answers from where it went, once") {
  Sent sent;
  std::shared_ptr<Reply> later;
  {
    Reply r(json(1), "coco/task/join", sent.sink());
    later = std::make_shared<Reply>(std::move(r));
  }
  CHECK(sent.responses.empty());  // the moved-from reply owes nothing
  (*later)(json("report"));
  later.reset();
  REQUIRE(sent.responses.size() == 1);
  CHECK(sent.responses[0]["result"] == "report");
}

TEST_CASE("the method table maps what a handler throws to one JSON-RPC error") {
  MethodTable table;
  table.add("coco/bad", [](const json& params, Reply) { required_string(params, "agentId"); });
  table.add("coco/type", [](const json& params, Reply r) { r(params.at("n").get<int>()); });
  table.add("coco/boom", [](const json&, Reply) { throw std::runtime_error("disk on fire"); });
  table.add("coco/moved-then-threw", [](const json&, Reply r) {
    auto keep = std::make_shared<Reply>(std::move(r));
    (*keep)(json("ok"));
    throw std::runtime_error("after answering");
  });
  Sent sent;
  table.dispatch("coco/bad", json::object(), Reply(json(1), "coco/bad", sent.sink()));
  table.dispatch("coco/type", {{"n", "not a number"}}, Reply(json(2), "coco/type", sent.sink()));
  table.dispatch("coco/boom", nullptr, Reply(json(3), "coco/boom", sent.sink()));
  table.dispatch("coco/none", nullptr, Reply(json(4), "coco/none", sent.sink()));
  table.dispatch("coco/moved-then-threw", nullptr, Reply(json(5), "x", sent.sink()));
  REQUIRE(sent.responses.size() == 5);
  CHECK(sent.responses[0]["error"]["code"] == -32602);
  CHECK(sent.responses[0]["error"]["message"].get<std::string>().find("agentId") != std::string::npos);
  CHECK(sent.responses[1]["error"]["code"] == -32602);  // a wrongly typed field is a bad param, not a crash
  CHECK(sent.responses[2]["error"]["code"] == -32603);
  CHECK(sent.responses[3]["error"]["code"] == -32601);
  CHECK(sent.responses[4]["result"] == "ok");  // answered before it threw: no second answer
}

TEST_CASE("registering a method twice is a programming error") {
  MethodTable table;
  table.add("coco/a", [](const json&, Reply r) { r(nullptr); });
  CHECK_THROWS_AS(table.add("coco/a", [](const json&, Reply r) { r(nullptr); }), std::logic_error);
}
