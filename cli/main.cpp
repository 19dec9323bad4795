#include "cli/cli.h"

int main(int argc, char** argv) { return coco::cli::cli_main(argc, argv); }
