#pragma once
// Request-id bookkeeping for one direction of the bridge.
//
// Each peer numbers its own requests, and codex restarts its numbering at 0 on every connection, so
// ids from the two sides collide. The bridge therefore owns the id space on every link it writes
// to: every request it sends there (its own, or one it forwards) leaves with a fresh integer id from
// this table, and the answer is handed to the callback registered with it, which knows the id the
// original sender used. An entry may carry a deadline, after which the bridge answers for the peer.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace coco::protocol {

template <typename Callback>
class PendingRequests {
public:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    std::string method;
    std::uint64_t generation = 0;  // which instance of the peer the request went to
    Callback on_response;
    Clock::time_point deadline = Clock::time_point::max();  // max: no deadline
  };

  explicit PendingRequests(std::int64_t first_id = 1) : next_id_(first_id) {}

  // Registers a request and returns the id to put on the wire.
  std::int64_t add(Entry entry) {
    std::int64_t id = next_id_++;
    entries_.emplace(id, std::move(entry));
    return id;
  }
  // Removes and returns the entry for a wire id (it must be an integer we issued).
  std::optional<Entry> take(const nlohmann::json& wire_id) {
    if (!wire_id.is_number_integer()) return std::nullopt;
    auto it = entries_.find(wire_id.template get<std::int64_t>());
    if (it == entries_.end()) return std::nullopt;
    Entry e = std::move(it->second);
    entries_.erase(it);
    return e;
  }
  // Removes every entry (the peer that owes the answers is gone), oldest first.
  std::vector<std::pair<std::int64_t, Entry>> take_all() { return take_if([](const Entry&) { return true; }); }
  // Removes the entries whose deadline has passed, oldest first.
  std::vector<std::pair<std::int64_t, Entry>> take_expired(Clock::time_point now) {
    return take_if([now](const Entry& e) { return e.deadline <= now; });
  }
  // The earliest deadline, or time_point::max() when none.
  Clock::time_point next_deadline() const {
    Clock::time_point t = Clock::time_point::max();
    for (const auto& [_, e] : entries_) t = std::min(t, e.deadline);
    return t;
  }
  std::size_t size() const { return entries_.size(); }

private:
  template <typename Pred>
  std::vector<std::pair<std::int64_t, Entry>> take_if(Pred pred) {
    std::vector<std::pair<std::int64_t, Entry>> out;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (pred(it->second)) {
        out.emplace_back(it->first, std::move(it->second));
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
  }

  std::int64_t next_id_;
  std::unordered_map<std::int64_t, Entry> entries_;
};

}  // namespace coco::protocol
