// StreamWriter: one write in flight at a time, even when on_drained feeds it from inside its own
// completion (found by the throughput benchmark: overlapping writes duplicated and lost messages).
#include "bridge/stream_writer.h"

#include <doctest/doctest.h>

#include <asio.hpp>

#include <chrono>
#include <string>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

namespace {

std::string numbered(int i) {
  std::string s = "message " + std::to_string(i) + " ";
  s.resize(1000, 'x');
  return s + "\n";
}

}  // namespace

TEST_CASE("StreamWriter never overlaps writes when on_drained writes more") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  asio::io_context io;
  asio::posix::stream_descriptor out(io, fds[1]);
  // Small marks so that the writer crosses high water and drains many times.
  coco::bridge::StreamWriter writer(out, 8 * 1024, 2 * 1024);

  constexpr int kMessages = 3000;
  int next = 0;
  auto produce = [&] {
    // What the session does: keep writing until the writer says it is above high water.
    while (next < kMessages && !writer.above_high_water()) writer.write(numbered(next++));
  };
  writer.on_drained = produce;
  bool idle = false;
  writer.on_idle = [&] { idle = next == kMessages; };

  std::string received;
  std::thread reader([&] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      received.append(buf, static_cast<std::size_t>(n));
    }
  });
  produce();
  io.run_for(std::chrono::seconds(20));  // a bounded wait: a broken writer may never finish
  out.close();
  reader.join();
  ::close(fds[0]);

  CHECK(idle);
  std::string expected;
  for (int i = 0; i < kMessages; ++i) expected += numbered(i);
  CHECK(received.size() == expected.size());
  CHECK(received == expected);
}

TEST_CASE("StreamWriter packs appended pieces in order, behind the write in flight") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  asio::io_context io;
  asio::posix::stream_descriptor out(io, fds[1]);
  coco::bridge::StreamWriter writer(out, 64 * 1024, 16 * 1024);

  constexpr int kMessages = 5000;
  int next = 0;
  auto produce = [&] {
    while (next < kMessages && !writer.above_high_water()) {
      std::string m = numbered(next);
      // Pieces as the transport sends them; every tenth message as one whole string instead.
      if (next % 10 == 0) writer.write(m);
      else writer.append({std::string_view(m).substr(0, 7), "", std::string_view(m).substr(7)});
      ++next;
    }
  };
  writer.on_drained = produce;

  std::string received;
  std::thread reader([&] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      received.append(buf, static_cast<std::size_t>(n));
    }
  });
  produce();
  io.run_for(std::chrono::seconds(20));
  out.close();
  reader.join();
  ::close(fds[0]);

  std::string expected;
  for (int i = 0; i < kMessages; ++i) expected += numbered(i);
  CHECK(next == kMessages);
  CHECK(received.size() == expected.size());
  CHECK(received == expected);
  CHECK(writer.idle());
}
