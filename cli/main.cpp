#include "bridge/cli.h"

int main(int argc, char** argv) { return coco::bridge::cli_main(argc, argv); }
