// Secret redaction: what must disappear, and what must stay byte for byte.

#include "taskdir/redact.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <string>

using coco::taskdir::is_secret_key;
using coco::taskdir::might_contain_secret;
using coco::taskdir::redact_secrets;

TEST_CASE("redact: secret-looking key names") {
  for (const char* k : {"apiKey",         "api_key",         "API_KEY",
                        "OPENAI_API_KEY", "token",           "Token",
                        "accessToken",    "access_token",    "idToken",
                        "id_token",       "refreshToken",    "sessionToken",
                        "authorization",  "Authorization",   "password",
                        "db_password",    "secret",          "clientSecret",
                        "client_secret",  "secretAccessKey", "client-private-key",
                        "x-api-key"}) {
    CHECK_MESSAGE(is_secret_key(k), k);
  }
  for (const char* k :
       {"tokens", "tokenUsage", "inputTokens", "max_tokens", "total_tokens", "contentTokenCount", "key",
        "keyPath", "sortKey", "envKey", "author", "authMode", "type", "text"}) {
    CHECK_MESSAGE(!is_secret_key(k), k);
  }
}

TEST_CASE("redact: JSON values of secret keys, at any depth") {
  CHECK(redact_secrets(R"({"apiKey":"abc123","type":"apiKey"})") ==
        R"({"apiKey":"[REDACTED]","type":"apiKey"})");
  CHECK(redact_secrets(R"({"a":{"b":[{"Access_Token" : "x.y.z"}]},"n":1})") ==
        R"({"a":{"b":[{"Access_Token" : "[REDACTED]"}]},"n":1})");
  CHECK(redact_secrets(R"({"password":"with \"quotes\" inside","next":"ok"})") ==
        R"({"password":"[REDACTED]","next":"ok"})");
  // Only string values: numbers, objects, null are structure, not credentials.
  CHECK(redact_secrets(R"({"token":null,"tokenUsage":{"total":5},"Token":7})") ==
        R"({"token":null,"tokenUsage":{"total":5},"Token":7})");
  // JSON printed inside a string (command output of `cat auth.json`).
  std::string nested =
      R"({"item":{"aggregatedOutput":"{\n  \"refresh_token\": \"rt-abc\",\n  \"x\": 1\n}"}})";
  std::string out = redact_secrets(nested);
  CHECK(out == R"({"item":{"aggregatedOutput":"{\n  \"refresh_token\": \"[REDACTED]\",\n  \"x\": 1\n}"}})");
  CHECK(nlohmann::json::parse(out)["item"]["aggregatedOutput"].get<std::string>().find("rt-abc") ==
        std::string::npos);
}

TEST_CASE("redact: patterns in any text") {
  CHECK(redact_secrets("key is sk-abcdefghijklmnop1234 ok") == "key is [REDACTED] ok");
  CHECK(redact_secrets("export OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUv\n") ==
        "export OPENAI_API_KEY=[REDACTED]\n");
  CHECK(redact_secrets("Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9xx.sig") ==
        "Authorization: Bearer [REDACTED]");
  CHECK(redact_secrets("curl -H \"authorization: bearer AbC123xyz789\"") ==
        "curl -H \"authorization: bearer [REDACTED]\"");
  CHECK(redact_secrets("id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig_1 end") ==
        "id [REDACTED] end");
  CHECK(redact_secrets("GITHUB_TOKEN=ghp_abc123 make") == "GITHUB_TOKEN=[REDACTED] make");
  CHECK(redact_secrets("mysql --password=hunter2 db") == "mysql --password=[REDACTED] db");
  CHECK(redact_secrets("https://x.test/cb?access_token=abc&state=1") ==
        "https://x.test/cb?access_token=[REDACTED]&state=1");
  CHECK(redact_secrets("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----") ==
        "-----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY-----");
  // Inside a JSON string, after an escape: still found, and the JSON stays valid.
  std::string j = R"({"text":"line\nsk-abcdefghijklmnop1234\n"})";
  CHECK(redact_secrets(j) == R"({"text":"line\n[REDACTED]\n"})");
  // A key's body that runs up to an escaped quote (a JSON string holding JSON, as the recording's
  // "raw" field of an invalid message does): the escape stays whole. Found by fuzz_recording: the
  // body took the backslash and left a bare quote that ended the string.
  std::string nested = R"({"raw":"{\"k\":\"-----BEGIN PRIVATE KEY-----MIIEow\"}"})";
  CHECK(redact_secrets(nested) == R"({"raw":"{\"k\":\"-----BEGIN PRIVATE KEY-----[REDACTED]\"}"})");
  std::string backslashes = R"({"raw":"-----BEGIN PRIVATE KEY-----MIIEow\\\"x"})";
  CHECK(redact_secrets(backslashes) == R"({"raw":"-----BEGIN PRIVATE KEY-----[REDACTED]\\\"x"})");
}

TEST_CASE("redact: text without secrets comes back byte-identical") {
  const char* texts[] = {
      "",
      "plain prose about keyboards, tokens and secrets of good code",
      R"({"method":"thread/tokenUsage/updated","params":{"tokenUsage":{"total":{"inputTokens":10}}}})",
      R"({"jsonrpc":"2.0","id":1,"result":{"items":[1,2.50,"\u00e9"],"key":"value"}})",
      "task-1234567890abcdefghij and disk-abcdefghijklmnopqrstuv are not keys",
      "Bearer authentication uses a Bearer token",
      "x == TOKEN_COUNT; if (a <= b) token = next();",
      "sk-short",
      "TOKEN=$GITHUB_TOKEN",
      "invalid \xff\xfe bytes with \"quotes and key\": \"value\"",
  };
  for (const char* t : texts) {
    CHECK_MESSAGE(redact_secrets(t) == t, t);
  }
  CHECK_FALSE(might_contain_secret(R"({"method":"item/agentMessage/delta","params":{"delta":"Hello"}})"));
}

TEST_CASE("redact: redacting twice changes nothing more") {
  std::string once =
      redact_secrets(R"({"apiKey":"a","t":"Bearer Zm9vYmFyMTIz sk-abcdefghijklmnop1234 X_TOKEN=v"})");
  CHECK(redact_secrets(once) == once);
  CHECK(once.find("Zm9v") == std::string::npos);
}

// The prefilter is vectorized (16 positions at a time, lower-casing by bit tricks). It must say yes
// whenever a marker is there, wherever it falls (across block edges, in the scalar tail), in any case.
namespace {
bool has_marker_reference(const std::string& s) {
  std::string lower;
  for (char c : s)
    lower += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  for (const char* m : {"sk-", "token", "key", "bearer", "secret", "passw", "authoriz", "eyj"}) {
    if (lower.find(m) != std::string::npos) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("redact: the vectorized prefilter agrees with a plain search") {
  std::mt19937 rng(7);  // fixed seed: a failure reproduces
  // Letters of the markers in both cases, the bytes that lower-casing by `| 0x20` confuses with them
  // ('\r' and '-', '@' and '`'), JSON punctuation and a non-ASCII byte.
  const std::string alphabet = "skKS-tToOeEnNyYbBaArRcCpPwWhHuUzZjJ x\"\\{}:,\r\n_@`\xc3";
  const char* markers[] = {"sk-", "TOKEN", "Key", "bearer", "SeCrEt", "passW", "AUTHORIZ", "eyJ"};
  int positives = 0;
  for (int t = 0; t < 200000; ++t) {
    std::string s;
    std::size_t n = rng() % 80;
    for (std::size_t i = 0; i < n; ++i)
      s += alphabet[rng() % alphabet.size()];
    if (rng() % 4 == 0) s.insert(rng() % (s.size() + 1), markers[rng() % 8]);
    bool expected = has_marker_reference(s);
    positives += expected;
    if (might_contain_secret(s) != expected) FAIL_CHECK("prefilter disagrees on: " << s);
  }
  CHECK(positives > 10000);  // the generator does produce both answers
  // Every marker at every offset of a longer text of harmless prose.
  std::string prose = "The quick brown fox jumps over the lazy dog while making a change to the parser. ";
  CHECK_FALSE(might_contain_secret(prose + prose));
  for (const char* m : markers) {
    for (std::size_t at = 0; at <= prose.size(); ++at) {
      std::string s = prose;
      s.insert(at, m);
      if (!might_contain_secret(s)) FAIL_CHECK(m << " at " << at << " missed");
    }
  }
}
