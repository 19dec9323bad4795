#include "protocol/id_map.h"

#include <algorithm>

namespace coco::protocol {

std::int64_t PendingRequests::add(Entry entry) {
  std::int64_t id = next_id_++;
  entries_.emplace(id, std::move(entry));
  return id;
}

std::optional<PendingRequests::Entry> PendingRequests::take(const nlohmann::json& wire_id) {
  if (!wire_id.is_number_integer()) return std::nullopt;
  auto it = entries_.find(wire_id.get<std::int64_t>());
  if (it == entries_.end()) return std::nullopt;
  Entry e = std::move(it->second);
  entries_.erase(it);
  return e;
}

std::vector<std::pair<std::int64_t, PendingRequests::Entry>> PendingRequests::take_all() {
  std::vector<std::pair<std::int64_t, Entry>> all(std::make_move_iterator(entries_.begin()),
                                                  std::make_move_iterator(entries_.end()));
  entries_.clear();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return all;
}

}  // namespace coco::protocol
