#pragma once
namespace coco::cli {
// Entry point of the `coco` executable; returns the process exit code.
int cli_main(int argc, char** argv);
}  // namespace coco::cli
