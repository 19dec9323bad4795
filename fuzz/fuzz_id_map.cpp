// Id bookkeeping driven by a byte program: add, take (by any JSON id), take_all. Checks that every
// issued id is taken back exactly once and that sizes add up.
#include "protocol/id_map.h"

#include <cstdint>
#include <cstdlib>
#include <set>

using coco::protocol::PendingRequests;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  PendingRequests map(size > 0 ? static_cast<std::int64_t>(data[0]) - 128 : 1);
  std::set<std::int64_t> live;
  for (std::size_t i = 1; i + 1 < size; i += 2) {
    std::uint8_t op = data[i], arg = data[i + 1];
    switch (op % 5) {
    case 0:
    case 1: {
      PendingRequests::Entry e;
      e.original_id = arg % 2 ? json(arg) : json(std::string(arg % 7, 'x'));
      e.method = "m";
      std::int64_t id = map.add(std::move(e));
      if (!live.insert(id).second) std::abort();  // ids never repeat
      break;
    }
    case 2: {
      std::int64_t id = live.empty() ? arg : *live.begin() + (arg % 3);
      auto got = map.take(json(id));
      if (got.has_value() != (live.erase(id) == 1)) std::abort();
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
    case 4:
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
