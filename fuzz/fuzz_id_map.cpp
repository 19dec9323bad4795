// Id bookkeeping driven by a byte program: add (with or without a deadline), take (by any JSON id),
// take_expired, take_all. Checks that every issued id is taken back exactly once, with the entry it was
// issued for, and that sizes add up.
#include "protocol/id_map.h"

#include <cstdint>
#include <cstdlib>
#include <map>

using nlohmann::json;
// The callback slot carries the original sender's id, as the bridge's own callbacks capture it.
using PendingRequests = coco::protocol::PendingRequests<json>;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  PendingRequests map(size > 0 ? static_cast<std::int64_t>(data[0]) - 128 : 1);
  const auto epoch = PendingRequests::Clock::time_point{};
  std::map<std::int64_t, json> live;  // wire id -> original id
  for (std::size_t i = 1; i + 1 < size; i += 2) {
    std::uint8_t op = data[i], arg = data[i + 1];
    switch (op % 6) {
    case 0:
    case 1: {
      json original = arg % 2 ? json(arg) : json(std::string(arg % 7, 'x'));
      PendingRequests::Entry e{.method = std::string(1, 'm'), .on_response = original};
      if (op % 6 == 1) e.deadline = epoch + std::chrono::seconds(arg);
      std::int64_t id = map.add(std::move(e));
      if (!live.emplace(id, original).second) std::abort();  // ids never repeat
      break;
    }
    case 2: {
      std::int64_t id = live.empty() ? arg : live.begin()->first + (arg % 3);
      auto got = map.take(json(id));
      auto it = live.find(id);
      if (got.has_value() != (it != live.end())) std::abort();
      if (got && got->on_response != it->second) std::abort();  // the entry issued for this id
      if (it != live.end()) live.erase(it);
      break;
    }
    case 3: {
      // Ids that are not ours: strings, floats, null, objects, huge numbers.
      json odd[] = {json("1"), json(1.0), json(nullptr), json::object(), json(UINT64_MAX), json(-1)};
      auto got = map.take(odd[arg % 6]);
      if (got && !odd[arg % 6].is_number_integer()) std::abort();
      if (got) live.erase(odd[arg % 6].get<std::int64_t>());
      break;
    }
    case 4: {
      // Expiry: only entries with a deadline at or before `now` leave, oldest first.
      auto expired = map.take_expired(epoch + std::chrono::seconds(arg));
      std::int64_t previous = INT64_MIN;
      for (auto& [id, e] : expired) {
        if (id <= previous || e.deadline > epoch + std::chrono::seconds(arg) || !live.erase(id)) std::abort();
        previous = id;
      }
      break;
    }
    case 5:
      if (arg % 8 == 0) {
        auto all = map.take_all();
        if (all.size() != live.size()) std::abort();
        live.clear();
      }
      break;
    }
    if (map.size() != live.size()) std::abort();
  }
  return 0;
}
