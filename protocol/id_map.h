#pragma once
// Request-id bookkeeping for one direction of the bridge.
//
// Each peer numbers its own requests, and codex restarts its numbering at 0 on every connection, so
// ids from the two sides collide. The bridge therefore owns the id space on every link it writes
// to: a forwarded request leaves with a fresh integer id from this table, and the response is
// mapped back to the id the sender used (the same JSON value, integer or string).

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace coco::protocol {

class PendingRequests {
public:
  struct Entry {
    nlohmann::json original_id;  // the sender's id; null for the bridge's own requests
    std::string method;
    std::uint64_t generation = 0;  // which upstream instance the request belongs to
    // Set for requests the bridge itself sent: the response goes here instead of being forwarded.
    std::function<void(const nlohmann::json& response)> on_response;
  };

  explicit PendingRequests(std::int64_t first_id = 1) : next_id_(first_id) {}

  // Registers a request and returns the id to put on the wire.
  std::int64_t add(Entry entry);
  // Removes and returns the entry for a wire id (which must be an integer we issued).
  std::optional<Entry> take(const nlohmann::json& wire_id);
  // Removes every entry (e.g. when the peer that owes the answers is gone), oldest first.
  std::vector<std::pair<std::int64_t, Entry>> take_all();
  std::size_t size() const { return entries_.size(); }

private:
  std::int64_t next_id_;
  std::unordered_map<std::int64_t, Entry> entries_;
};

}  // namespace coco::protocol
