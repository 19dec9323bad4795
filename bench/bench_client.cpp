// coco_bench_client: an editor that only measures.
//
// It starts a command with pipes (the flood upstream directly, or `coco bridge --codex <flood>`, or a
// real codex), speaks JSON-RPC to it in either framing, and prints one JSON object with what it measured.
//
//   coco_bench_client MODE [options] -- COMMAND [ARGS...]
//
// modes
//   throughput   initialize, then one turn/start {bench:{count,size}}; time until turn/completed
//   latency      initialize, then bench/ping requests one at a time; round-trip percentiles
//   slow-reader  one turn of --bytes, read at --rate bytes/s while sampling the child's memory
//                (/proc/PID/status VmRSS, VmHWM) and how far the upstream's writes run ahead of
//                what has been read (/proc/UPSTREAM/io wchar): that gap is what the bridge holds
//   startup      --runs times: spawn, send initialize at once, time to the first byte and to the
//                whole answer, then close stdin and time the exit
// options
//   --framing lines|content-length   what the client sends (and so what the bridge answers in)
//   --count N --size S               throughput: messages and their JSON body size (flood side)
//   --upstream-rate R                throughput: the flood paces itself to R bytes/s (default: flat out)
//   --iterations K --warmup W        latency
//   --bytes B --size S --rate R --sample-ms MS    slow-reader
//   --runs R                         startup
//   --stderr FILE                    where the child's stderr goes (default /dev/null)
//   --timeout SECONDS                give up (and fail) after this long (default 300)
//
// Every delta's sequence number is checked (the flood numbers them from 0): a lost, duplicated or
// reordered message fails the run.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// ---------------------------------------------------------------------------------------------
// The child process

struct Child {
  pid_t pid = -1;
  int in = -1;   // we write its stdin
  int out = -1;  // we read its stdout
  rusage usage{};
  int status = 0;

  static Child spawn(const std::vector<std::string>& argv, const std::string& stderr_path) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) fail("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    Child c;
    int err = posix_spawnp(&c.pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(to_child[0]);
    ::close(from_child[1]);
    if (err != 0) fail("cannot start " + argv[0] + ": " + std::strerror(err));
    c.in = to_child[1];
    c.out = from_child[0];
    return c;
  }

  void send(std::string_view bytes) const {
    while (!bytes.empty()) {
      ssize_t n = ::write(in, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        fail(std::string("write to the child failed: ") + std::strerror(errno));
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void close_stdin() {
    if (in >= 0) ::close(in);
    in = -1;
  }

  // Closes stdin, reads stdout to EOF, reaps. Returns the seconds from close to exit.
  double finish(double timeout_s) {
    auto t0 = Clock::now();
    close_stdin();
    char sink[64 * 1024];
    for (;;) {
      pollfd p{out, POLLIN, 0};
      int left_ms = static_cast<int>((timeout_s - seconds_since(t0)) * 1000);
      if (left_ms <= 0) {
        ::kill(pid, SIGKILL);
        break;
      }
      int r = ::poll(&p, 1, left_ms);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) continue;
      ssize_t n = ::read(out, sink, sizeof sink);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
    }
    ::close(out);
    out = -1;
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    return seconds_since(t0);
  }
};

// ---------------------------------------------------------------------------------------------
// Frames from the child, in either framing, with as little work per frame as possible

enum class Framing { Lines, ContentLength };

class FrameIn {
public:
  FrameIn(int fd, Framing framing) : fd_(fd), framing_(framing), buf_(4u << 20) {}

  // Called before every read() with the number of bytes read so far; returns the most to read now.
  std::function<std::size_t(std::uint64_t bytes_read)> before_read;
  std::uint64_t bytes_read() const { return bytes_read_; }

  // The next frame's body (valid until the next call); false at EOF.
  bool next(std::string_view& body) {
    for (;;) {
      if (framing_ == Framing::Lines) {
        const char* start = buf_.data() + begin_;
        const char* nl = static_cast<const char*>(std::memchr(start + scanned_, '\n', end_ - begin_ - scanned_));
        if (nl != nullptr) {
          body = std::string_view(start, static_cast<std::size_t>(nl - start));
          begin_ += body.size() + 1;
          scanned_ = 0;
          if (body.empty()) continue;
          return true;
        }
        scanned_ = end_ - begin_;
      } else if (parse_content_length(body)) {
        return true;
      }
      if (!fill()) return false;
    }
  }

private:
  bool parse_content_length(std::string_view& body) {
    std::string_view rest(buf_.data() + begin_, end_ - begin_);
    if (need_ == 0) {
      std::size_t sep = rest.find("\r\n\r\n");
      if (sep == std::string_view::npos) return false;
      std::string_view headers = rest.substr(0, sep);
      std::size_t at = headers.find("Content-Length:");
      if (at == std::string_view::npos) fail("a header block without Content-Length");
      need_ = std::strtoull(headers.data() + at + 15, nullptr, 10);
      begin_ += sep + 4;
      rest.remove_prefix(sep + 4);
    }
    if (rest.size() < need_) return false;
    body = rest.substr(0, need_);
    begin_ += need_;
    need_ = 0;
    return true;
  }

  bool fill() {
    // Keep the unconsumed tail at the front; grow only for a frame larger than the buffer.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    std::size_t room = buf_.size() - end_;
    if (before_read) room = std::min(room, std::max<std::size_t>(1, before_read(bytes_read_)));
    for (;;) {
      ssize_t n = ::read(fd_, buf_.data() + end_, room);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(std::string("read from the child failed: ") + std::strerror(errno));
      if (n == 0) return false;
      end_ += static_cast<std::size_t>(n);
      bytes_read_ += static_cast<std::uint64_t>(n);
      return true;
    }
  }

  int fd_;
  Framing framing_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0, scanned_ = 0, need_ = 0;
  std::uint64_t bytes_read_ = 0;
};

std::string frame(Framing framing, std::string_view body) {
  if (framing == Framing::Lines) return std::string(body) + "\n";
  return "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// ---------------------------------------------------------------------------------------------
// /proc

std::map<std::string, long> proc_status_kb(pid_t pid) {
  std::map<std::string, long> out;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("Vm", 0) != 0 && line.rfind("Rss", 0) != 0) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    out[line.substr(0, colon)] = std::strtol(line.c_str() + colon + 1, nullptr, 10);
  }
  return out;
}

long proc_wchar(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  long value = -1;
  while (f >> key >> value) {
    if (key == "wchar:") return value;
  }
  return -1;
}

std::vector<pid_t> proc_children(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  pid_t c;
  while (f >> c) out.push_back(c);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The conversation

struct Options {
  std::string mode;
  Framing framing = Framing::Lines;
  std::uint64_t count = 10000, size = 1024, iterations = 10000, warmup = 1000, bytes = 1u << 30, runs = 5;
  double rate = 50e6;  // bytes/s
  double upstream_rate = 0;  // throughput: ask the flood to pace itself (bytes/s; 0: flat out)
  int sample_ms = 20;
  double timeout = 300;
  std::string stderr_path = "/dev/null";
  std::vector<std::string> command;
};

class Client {
public:
  Client(const Options& o) : o_(o) {}

  void start() {
    t_spawn_ = Clock::now();
    child_ = Child::spawn(o_.command, o_.stderr_path);
    in_.emplace(child_.out, o_.framing);
  }

  void send(std::string_view body) { child_.send(frame(o_.framing, body)); }

  // Reads frames until the response to `id`; other messages are skipped. Returns the parsed response.
  json wait_response(std::int64_t id) {
    std::string_view body;
    while (in_->next(body)) {
      if (body.find("\"method\"") != std::string_view::npos && body.find("\"result\"") == std::string_view::npos) continue;
      json m = json::parse(body, nullptr, false);
      if (m.is_object() && !m.contains("method") && m.value("id", json()) == json(id)) return m;
    }
    fail("the child closed its output before answering request " + std::to_string(id));
  }

  json initialize() {
    send(R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"clientInfo":{"name":"coco_bench","title":"Coco bench","version":"0"}}})");
    json r = wait_response(0);
    if (!r.contains("result")) fail("initialize failed: " + r.dump());
    send(R"({"jsonrpc":"2.0","method":"initialized"})");
    return r;
  }

  // Reads one flood turn: checks every delta's sequence number; returns at turn/completed.
  struct TurnResult {
    std::uint64_t deltas = 0, other = 0, body_bytes = 0, delta_bytes = 0;
    bool completed = false;
  };
  TurnResult read_turn() {
    TurnResult r;
    std::string_view body;
    static constexpr std::string_view kDelta = "\"delta\":\"";
    while (in_->next(body)) {
      r.body_bytes += body.size();
      // The sequence number sits right after "delta":" near the start; search only there.
      std::string_view head = body.substr(0, std::min<std::size_t>(body.size(), 256));
      std::size_t at = head.find(kDelta);
      if (at != std::string_view::npos && body.size() >= at + kDelta.size() + 8) {
        std::uint64_t seq = 0;
        for (std::size_t i = 0; i < 8; ++i) seq = seq * 10 + static_cast<std::uint64_t>(body[at + kDelta.size() + i] - '0');
        if (seq != r.deltas) fail("delta " + std::to_string(seq) + " arrived where " + std::to_string(r.deltas) + " was expected");
        ++r.deltas;
        r.delta_bytes += body.size();
        if (on_delta) on_delta(r.deltas);
        continue;
      }
      ++r.other;
      if (head.find("\"turn/completed\"") != std::string_view::npos) {
        r.completed = true;
        return r;
      }
    }
    return r;
  }
  std::function<void(std::uint64_t)> on_delta;

  double finish() { return child_.finish(30); }
  Child& child() { return child_; }
  FrameIn& in() { return *in_; }
  Clock::time_point spawned_at() const { return t_spawn_; }

private:
  const Options& o_;
  Child child_;
  std::optional<FrameIn> in_;
  Clock::time_point t_spawn_;
};

json cpu_of(const Child& c) {
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return {{"user_s", tv(c.usage.ru_utime)}, {"sys_s", tv(c.usage.ru_stime)}, {"max_rss_kb", c.usage.ru_maxrss},
          {"voluntary_switches", c.usage.ru_nvcsw}, {"involuntary_switches", c.usage.ru_nivcsw}};
}

std::string turn_start(std::uint64_t count, std::uint64_t size, double rate = 0) {
  return R"({"jsonrpc":"2.0","id":1,"method":"turn/start","params":{"threadId":"t","input":[{"type":"text","text":"flood"}],"bench":{"count":)" +
         std::to_string(count) + R"(,"size":)" + std::to_string(size) + R"(,"rate":)" +
         std::to_string(static_cast<std::uint64_t>(rate)) + "}}}";
}

// ---------------------------------------------------------------------------------------------
// Modes

json run_throughput(const Options& o) {
  Client c(o);
  c.start();
  c.initialize();
  auto t0 = Clock::now();
  std::uint64_t read0 = c.in().bytes_read();
  c.send(turn_start(o.count, o.size, o.upstream_rate));
  auto r = c.read_turn();
  double elapsed = seconds_since(t0);
  std::uint64_t wire = c.in().bytes_read() - read0;
  double exit_s = c.finish();
  if (!r.completed) fail("the turn did not complete");
  if (r.deltas != o.count) fail("received " + std::to_string(r.deltas) + " of " + std::to_string(o.count) + " deltas");
  return {{"elapsed_s", elapsed},
          {"messages", r.deltas},
          {"wire_bytes", wire},
          {"body_bytes", r.body_bytes},
          {"avg_body_bytes", static_cast<double>(r.delta_bytes) / static_cast<double>(r.deltas)},
          {"msgs_per_s", static_cast<double>(r.deltas) / elapsed},
          {"mb_per_s", static_cast<double>(wire) / elapsed / 1e6},
          {"exit_after_eof_s", exit_s},
          {"child_cpu", cpu_of(c.child())}};
}

json percentiles(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    std::size_t i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
    return v[std::min(i, v.size() - 1)];
  };
  double sum = 0;
  for (double x : v) sum += x;
  return {{"n", v.size()},          {"min", v.front()},    {"p50", at(0.50)}, {"p90", at(0.90)},
          {"p99", at(0.99)},        {"p999", at(0.999)},   {"max", v.back()}, {"mean", sum / static_cast<double>(v.size())}};
}

json run_latency(const Options& o) {
  Client c(o);
  c.start();
  c.initialize();
  std::vector<double> rtt_us;
  rtt_us.reserve(o.iterations);
  std::string_view body;
  for (std::uint64_t i = 0; i < o.warmup + o.iterations; ++i) {
    std::string req = frame(o.framing, R"({"jsonrpc":"2.0","id":)" + std::to_string(100 + i) + R"(,"method":"bench/ping"})");
    auto t0 = Clock::now();
    c.child().send(req);
    if (!c.in().next(body)) fail("the child closed its output during the ping-pong");
    double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    if (body.find("\"result\"") == std::string_view::npos) fail("unexpected answer to a ping: " + std::string(body.substr(0, 200)));
    if (i >= o.warmup) rtt_us.push_back(us);
  }
  c.finish();
  return {{"rtt_us", percentiles(rtt_us)}, {"child_cpu", cpu_of(c.child())}};
}

json run_slow_reader(const Options& o) {
  Client c(o);
  c.start();
  c.initialize();
  pid_t target = c.child().pid;
  // The upstream is the flood itself when run directly, the bridge's child otherwise.
  pid_t upstream = target;
  if (auto kids = proc_children(target); !kids.empty()) upstream = kids.front();
  auto idle = proc_status_kb(target);
  long wchar0 = proc_wchar(upstream);
  std::uint64_t count = o.bytes / o.size;

  json samples = json::array();
  long max_rss = 0, max_ahead = 0;
  auto t0 = Clock::now();
  auto next_sample = t0;
  std::uint64_t delivered = 0;
  auto sample = [&] {
    auto st = proc_status_kb(target);
    long rss = st.count("VmRSS") ? st["VmRSS"] : 0;
    max_rss = std::max(max_rss, rss);
    long w = proc_wchar(upstream);
    // Bytes the upstream has written that the client has not yet received: held by the pipes and
    // by whatever sits in between (the bridge's queues).
    long ahead = w >= 0 ? w - wchar0 - static_cast<long>(delivered * (o.size + 1)) : -1;
    max_ahead = std::max(max_ahead, ahead);
    samples.push_back({{"t", seconds_since(t0)}, {"rss_kb", rss}, {"ahead_bytes", ahead}, {"read_bytes", c.in().bytes_read()}});
  };
  c.on_delta = [&](std::uint64_t n) { delivered = n; };
  std::uint64_t read0 = c.in().bytes_read();
  // A token bucket: the reader may have read rate*t bytes after t seconds, 64 KiB at a time.
  c.in().before_read = [&](std::uint64_t total) -> std::size_t {
    auto now = Clock::now();
    if (now >= next_sample) {
      sample();
      next_sample = now + std::chrono::milliseconds(o.sample_ms);
    }
    double allowed = o.rate * seconds_since(t0);
    double got = static_cast<double>(total - read0);
    if (got >= allowed) {
      std::this_thread::sleep_for(std::chrono::duration<double>((got - allowed) / o.rate + 0.0005));
    }
    return 64 * 1024;
  };
  c.send(turn_start(count, o.size));
  auto r = c.read_turn();
  double elapsed = seconds_since(t0);
  sample();
  auto end = proc_status_kb(target);
  c.in().before_read = nullptr;
  c.finish();
  if (!r.completed || r.deltas != count) fail("lost messages: " + std::to_string(r.deltas) + " of " + std::to_string(count));
  // Keep the timeline short: at most ~120 points.
  json timeline = json::array();
  std::size_t step = std::max<std::size_t>(1, samples.size() / 120);
  for (std::size_t i = 0; i < samples.size(); i += step) timeline.push_back(samples[i]);
  return {{"elapsed_s", elapsed},
          {"messages", r.deltas},
          {"bytes", c.in().bytes_read() - read0},
          {"read_rate_mb_per_s", static_cast<double>(c.in().bytes_read() - read0) / elapsed / 1e6},
          {"lost", count - r.deltas},
          {"idle_rss_kb", idle.count("VmRSS") ? idle["VmRSS"] : 0},
          {"max_sampled_rss_kb", max_rss},
          {"peak_rss_kb", end.count("VmHWM") ? end["VmHWM"] : 0},
          {"max_upstream_ahead_bytes", max_ahead},
          {"samples", samples.size()},
          {"timeline", timeline},
          {"child_cpu", cpu_of(c.child())}};
}

json run_startup(const Options& o) {
  std::vector<double> first_ms, init_ms, exit_ms;
  std::string init = frame(o.framing, R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"clientInfo":{"name":"coco_bench","title":"Coco bench","version":"0"}}})");
  for (std::uint64_t i = 0; i < o.runs; ++i) {
    Client c(o);
    c.start();
    c.child().send(init);
    // The first byte: wait for readability without consuming.
    pollfd p{c.child().out, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(o.timeout * 1000)) < 0 && errno == EINTR) {
    }
    first_ms.push_back(seconds_since(c.spawned_at()) * 1000);
    json r = c.wait_response(0);
    init_ms.push_back(seconds_since(c.spawned_at()) * 1000);
    if (!r.contains("result")) fail("initialize failed: " + r.dump());
    exit_ms.push_back(c.finish() * 1000);
  }
  return {{"first_byte_ms", percentiles(first_ms)}, {"initialize_ms", percentiles(init_ms)}, {"exit_after_eof_ms", percentiles(exit_ms)}};
}

Options parse(int argc, char** argv) {
  Options o;
  if (argc < 2) fail("usage: coco_bench_client throughput|latency|slow-reader|startup [options] -- COMMAND [ARGS...]");
  o.mode = argv[1];
  int i = 2;
  auto value = [&](const char* name) -> std::string {
    if (i + 1 >= argc) fail(std::string(name) + " needs a value");
    return argv[++i];
  };
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) o.command.push_back(argv[i]);
      break;
    }
    if (a == "--framing") {
      std::string f = value("--framing");
      if (f == "lines") o.framing = Framing::Lines;
      else if (f == "content-length") o.framing = Framing::ContentLength;
      else fail("--framing is lines or content-length");
    } else if (a == "--count") o.count = std::stoull(value("--count"));
    else if (a == "--size") o.size = std::stoull(value("--size"));
    else if (a == "--iterations") o.iterations = std::stoull(value("--iterations"));
    else if (a == "--warmup") o.warmup = std::stoull(value("--warmup"));
    else if (a == "--bytes") o.bytes = std::stoull(value("--bytes"));
    else if (a == "--rate") o.rate = std::stod(value("--rate"));
    else if (a == "--upstream-rate") o.upstream_rate = std::stod(value("--upstream-rate"));
    else if (a == "--sample-ms") o.sample_ms = std::stoi(value("--sample-ms"));
    else if (a == "--runs") o.runs = std::stoull(value("--runs"));
    else if (a == "--timeout") o.timeout = std::stod(value("--timeout"));
    else if (a == "--stderr") o.stderr_path = value("--stderr");
    else fail("unknown option " + a);
  }
  if (o.command.empty()) fail("no command after --");
  if (o.iterations == 0 || o.runs == 0 || o.count == 0 || o.size == 0 || o.rate <= 0) fail("counts must be positive");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  try {
    Options o = parse(argc, argv);
    // A watchdog: a wedged child must not hang the benchmark forever.
    std::thread([t = o.timeout] {
      std::this_thread::sleep_for(std::chrono::duration<double>(t));
      std::fprintf(stderr, "coco_bench_client: timed out after %.0f s\n", t);
      std::_Exit(3);
    }).detach();
    json result;
    if (o.mode == "throughput") result = run_throughput(o);
    else if (o.mode == "latency") result = run_latency(o);
    else if (o.mode == "slow-reader") result = run_slow_reader(o);
    else if (o.mode == "startup") result = run_startup(o);
    else fail("unknown mode " + o.mode);
    result["mode"] = o.mode;
    result["framing"] = o.framing == Framing::Lines ? "lines" : "content-length";
    std::cout << result.dump() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "coco_bench_client: " << e.what() << "\n";
    return 1;
  }
}
