#pragma once
// The machine-readable contract of Coco's own messages: a JSON Schema for every coco/* request,
// result and notification and the coco additions to `initialize` (protocol/coco_schema.json,
// compiled in). `coco schema` prints it; the integration tests validate every coco/* message they
// see against it, so the code and the contract cannot drift apart.

#include <string_view>

namespace coco::protocol {

std::string_view coco_schema_json();

}  // namespace coco::protocol
