// `gavel`: the Gavel command line. See `gavel help` and clients/cli/app.h.
#include <iostream>
#include <string>
#include <vector>

#include "clients/cli/app.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return gavel::cli::Main(args, gavel::cli::RealEnvironment(), std::cout, std::cerr);
}
