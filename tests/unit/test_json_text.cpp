// Untrusted JSON: the nesting cap before parsing, and the strict check recordings rely on.
#include "protocol/json_text.h"
#include "protocol/message.h"

#include <doctest/doctest.h>

#include <string>

using namespace coco::protocol;

namespace {
std::string nested(std::size_t levels, char open = '[', char close = ']') {
  return std::string(levels, open) + std::string(levels, close);
}
std::string nested_objects(std::size_t levels) {
  std::string s;
  for (std::size_t i = 0; i < levels; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(levels, '}');
  return s;
}
}  // namespace

TEST_CASE("parse_json refuses deep nesting before parsing, distinctly from bad JSON") {
  CHECK(parse_json(nested(kMaxJsonDepth)).ok());
  CHECK(parse_json(nested_objects(kMaxJsonDepth)).ok());
  auto deep = parse_json(nested(kMaxJsonDepth + 1));
  CHECK(deep.status == JsonStatus::TooDeep);
  CHECK(deep.problem.find("512") != std::string::npos);
  // What used to overflow the stack (a copy or dump of such a tree): refused in linear time.
  CHECK(parse_json(nested(100000)).status == JsonStatus::TooDeep);
  CHECK(parse_json(nested_objects(100000)).status == JsonStatus::TooDeep);
  CHECK(parse_json(std::string(100000, '[')).status == JsonStatus::TooDeep);  // unclosed, too
  // Brackets inside strings do not count, escaped quotes do not end a string.
  std::string in_string = "{\"s\":\"" + std::string(5000, '[') + "\\\"" + std::string(5000, '{') + "\"}";
  CHECK(parse_json(in_string).ok());

  auto bad = parse_json("{\"a\":");
  CHECK(bad.status == JsonStatus::NotJson);
  CHECK_FALSE(bad.problem.empty());
  CHECK(parse_json("").status == JsonStatus::NotJson);
  CHECK(parse_json(std::string_view("{\"a\":\"\0\"}", 9)).status == JsonStatus::NotJson);
  auto good = parse_json(R"({"id":1,"method":"a","params":{"x":[1,2,{"y":null}]}})");
  REQUIRE(good.ok());
  CHECK(good.value["params"]["x"][2].contains("y"));
  CHECK(parse_json(nested(3), 2).status == JsonStatus::TooDeep);
  CHECK(nesting_within(nested(2), 2));
}

TEST_CASE("check_json_text accepts exactly what strict parsers accept") {
  for (const char* ok : {"{}", "[]", "0", "-0.5e+3", "\"\"", "true", " null ", "\t{\"a\" : [1, \"x\", {}]}\r\n",
                         "\"\\u00e9\\ud83d\\ude00\\n\\/\"", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "[1e308]", "1e-999",
                         "{\"a\":{\"b\":[[],{}]},\"c\":\"\\\\\"}"}) {
    CAPTURE(ok);
    CHECK(check_json_text(ok) == JsonStatus::Ok);
  }
  const std::string bad[] = {
      "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\"}", "{a:1}", "[1 2]", "01", "1.", ".5", "-", "1e", "+1",
      "NaN", "Infinity", "-Infinity", "tru", "nul", "[true false]", "{} {}", "{}x", "\"abc", "'a'",
      std::string("\"a\0b\"", 5), std::string("{\"a\":1}\0", 8), "\"a\nb\"", "\"\x01\"", "\"\\x41\"", "\"\\u12\"",
      "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"",
      "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc3\"", "[\"\xe2\x82\"]", "\xef\xbb\xbf{}",
      std::string(4301, '1'), "\"\\", "1e999", "[-1E+400]", std::string(400, '9') + ".5e0"};
  for (const auto& b : bad) {
    CAPTURE(b);
    CHECK(check_json_text(b) == JsonStatus::NotJson);
  }
  CHECK(check_json_text(std::string(300, '9')) == JsonStatus::Ok);
  CHECK(check_json_text(std::string(400, '9')) == JsonStatus::NotJson);  // overflows a double
  CHECK(check_json_text(std::string(300, '9') + ".0") == JsonStatus::Ok);  // a float, not an int
  // Found by fuzz_message: nlohmann refuses a number that overflows a double; so must the check.
  CHECK(check_json_text("1e999") == JsonStatus::NotJson);
  CHECK_FALSE(parse_json("1e999").ok());
  CHECK(check_json_text(nested(kMaxJsonDepth)) == JsonStatus::Ok);
  CHECK(check_json_text(nested(kMaxJsonDepth + 1)) == JsonStatus::TooDeep);
  CHECK(check_json_text(nested_objects(kMaxJsonDepth + 1)) == JsonStatus::TooDeep);
}

TEST_CASE("check_json_text finds a bad byte at every position of a long string") {
  // The string scan goes a block at a time: a bad byte must be seen wherever it falls in a block.
  std::string base = "{\"text\":\"" + std::string(70, 'a') + "\"}";
  REQUIRE(check_json_text(base) == JsonStatus::Ok);
  for (std::size_t at = 9; at < 9 + 70; ++at) {
    for (char bad : {'\0', '\x1f', '\xff', '\x80'}) {
      std::string s = base;
      s[at] = bad;
      CAPTURE(at);
      CHECK(check_json_text(s) == JsonStatus::NotJson);
    }
    std::string quoted = base;
    quoted[at] = '"';  // ends the string early: what follows is junk
    CHECK(check_json_text(quoted) == JsonStatus::NotJson);
    if (at + 1 < 9 + 70) {
      std::string two_bytes = base;
      two_bytes.replace(at, 2, "\xc3\xa9");
      CHECK(check_json_text(two_bytes) == JsonStatus::Ok);
    }
  }
}

TEST_CASE("classify keeps a readable id of an invalid request") {
  auto m = classify(json::parse(R"({"id":"x","method":5})"));
  CHECK(m.kind == Kind::Invalid);
  CHECK(m.id == "x");
  CHECK(classify(json::parse(R"({"id":7,"method":null,"params":{}})")).id == 7);
  CHECK(classify(json::parse(R"({"id":7,"method":"a","params":"p"})")).id == 7);
  CHECK(classify(json::parse(R"({"id":1.5,"method":5})")).id.is_null());  // not a readable id
  CHECK(classify(json::parse(R"({"id":[1],"result":1})")).id.is_null());
}
