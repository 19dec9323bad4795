// coco_flood_upstream: a stand-in for `codex app-server` that produces load instead of thinking.
//
// It speaks codex's wire format (one JSON object per line on stdio, no "jsonrpc" field) and accepts
// being started as `coco_flood_upstream app-server`, which is how `coco bridge --codex` runs codex.
//
//   initialize            -> a result shaped like codex's, userAgent "coco_flood/0.169.0 (bench)"
//   bench/ping            -> {} at once (the latency probe)
//   turn/start            -> {turn:{id,status:"inProgress"}}, then `count` item/agentMessage/delta
//                            notifications whose JSON body is `size` bytes, then turn/completed
//   anything else         -> error -32600, like codex's answer to an unknown method
//
// count, size and rate come from turn/start's params.bench {count, size, rate}, else from the
// environment (COCO_FLOOD_COUNT, COCO_FLOOD_SIZE, COCO_FLOOD_RATE), else 1000, 1024 and 0. rate is in
// bytes/s (0: as fast as the reader takes them). Each delta starts with its sequence number (8 digits,
// from 0) so that a reader can check that nothing was lost or reordered; the rest is prose.
//
// Output is written with blocking write(2) calls of up to 256 KiB: when the reader stops reading,
// the flood blocks on the full pipe, exactly like codex.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include <unistd.h>

namespace {

using json = nlohmann::json;

constexpr std::size_t kSeqDigits = 8;
constexpr std::size_t kOutBatch = 256 * 1024;
constexpr std::string_view kDeltaPrefix =
    R"({"method":"item/agentMessage/delta","params":{"threadId":"t","turnId":"u","itemId":"m","delta":")";
constexpr std::string_view kDeltaSuffix = R"("}})";
// Deltas carry ordinary prose, like an agent's answer (the recorder's secret scan looks at every byte,
// so the text's make-up matters a little; nothing here looks like a secret).
constexpr std::string_view kFiller =
    " Coco forwards every message between the editor and codex, records it in the task directory and keeps"
    " memory bounded when one side is slow. This paragraph is filler of a typical make-up, standing in for"
    " what an agent streams to an editor while it works through a change in a project.";

std::string out_buf;

void write_all(const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(STDOUT_FILENO, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EPIPE) std::fprintf(stderr, "coco_flood_upstream: write failed: %s\n", std::strerror(errno));
      std::_Exit(0);  // the reader is gone: nothing left to do
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void flush() {
  write_all(out_buf.data(), out_buf.size());
  out_buf.clear();
}

void emit(std::string_view line) {
  out_buf.append(line);
  out_buf += '\n';
  if (out_buf.size() >= kOutBatch) flush();
}

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return static_cast<std::size_t>(std::strtoull(v, nullptr, 10));
}

void run_turn(std::size_t count, std::size_t size, double rate) {
  // rate > 0: no faster than `rate` bytes/s on average (a paced producer instead of a flood).
  auto t0 = std::chrono::steady_clock::now();
  std::size_t written = 0;
  auto pace = [&] {
    if (rate <= 0) return;
    written += out_buf.size();
    std::this_thread::sleep_until(t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                           std::chrono::duration<double>(static_cast<double>(written) / rate)));
  };
  // One template line; only the sequence number changes from message to message.
  std::size_t overhead = kDeltaPrefix.size() + kDeltaSuffix.size();
  std::size_t delta_len = size > overhead + kSeqDigits ? size - overhead : kSeqDigits;
  std::string line;
  line.reserve(overhead + delta_len + 1);
  line += kDeltaPrefix;
  std::size_t seq_at = line.size();
  line.append(kSeqDigits, '0');
  for (std::size_t i = kSeqDigits; i < delta_len; ++i) line += kFiller[(i - kSeqDigits) % kFiller.size()];
  line += kDeltaSuffix;
  line += '\n';

  for (std::size_t seq = 0; seq < count; ++seq) {
    std::size_t v = seq;
    for (std::size_t d = 0; d < kSeqDigits; ++d) {
      line[seq_at + kSeqDigits - 1 - d] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    out_buf.append(line);
    if (out_buf.size() >= kOutBatch) {
      pace();
      flush();
    }
  }
  emit(R"({"method":"turn/completed","params":{"threadId":"t","turn":{"id":"u","items":[],"status":"completed","error":null}}})");
  flush();
}

void handle(std::string_view text) {
  json msg = json::parse(text, nullptr, false);
  if (!msg.is_object() || !msg.contains("method") || !msg["method"].is_string()) return;
  const std::string method = msg["method"].get<std::string>();
  if (!msg.contains("id")) return;  // notifications (initialized, ...) need nothing
  const std::string id = msg["id"].dump();
  if (method == "bench/ping") {
    emit(R"({"id":)" + id + R"(,"result":{}})");
    flush();
  } else if (method == "initialize") {
    emit(R"({"id":)" + id +
         R"x(,"result":{"userAgent":"coco_flood/0.169.0 (bench)","codexHome":"/nonexistent","platformFamily":"unix","platformOs":"linux"}})x");
    flush();
  } else if (method == "turn/start") {
    std::size_t count = env_size("COCO_FLOOD_COUNT", 1000);
    std::size_t size = env_size("COCO_FLOOD_SIZE", 1024);
    double rate = static_cast<double>(env_size("COCO_FLOOD_RATE", 0));
    if (auto p = msg.find("params"); p != msg.end() && p->is_object()) {
      if (auto b = p->find("bench"); b != p->end() && b->is_object()) {
        count = b->value("count", count);
        size = b->value("size", size);
        rate = b->value("rate", rate);
      }
    }
    emit(R"({"id":)" + id + R"(,"result":{"turn":{"id":"u","items":[],"status":"inProgress","error":null}}})");
    run_turn(count, size, rate);
  } else {
    json err = {{"id", msg["id"]}, {"error", {{"code", -32600}, {"message", "unknown method: " + method}}}};
    emit(err.dump());
    flush();
  }
}

}  // namespace

int main(int argc, char** argv) {
  // `<exe> app-server` is how the bridge starts codex; any other argument is ignored too.
  (void)argc;
  (void)argv;
  std::signal(SIGPIPE, SIG_IGN);
  out_buf.reserve(2 * kOutBatch);
  std::string in;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;  // stdin closed: the client (or the bridge) is done with us
    in.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (;;) {
      std::size_t nl = in.find('\n', start);
      if (nl == std::string::npos) break;
      std::string_view line(in.data() + start, nl - start);
      start = nl + 1;
      if (!line.empty()) handle(line);
    }
    in.erase(0, start);
  }
}
