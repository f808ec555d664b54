// parley-interop: Parley's protocol core behind the interop peer contract
// (shared/interop-peer.md): one JSON request per line on standard input, one
// JSON response per line on standard output.
#include <cstdio>
#include <iostream>
#include <string>

#include "base/clock.h"
#include "crypto/random.h"
#include "interop_engine.h"

int main(int argc, char** argv) {
  if (argc > 1) {
    std::fprintf(stderr,
                 "usage: %s < requests.jsonl\n"
                 "Answers the interop peer contract's JSON-lines requests on stdin; see docs/protocol.md.\n",
                 argv[0]);
    return std::string(argv[1]) == "--help" ? 0 : 2;
  }
  std::ios::sync_with_stdio(false);
  parley::crypto::InitializeCrypto();
  parley::crypto::SystemRng rng;
  parley::SystemClock clock;
  parley::interop::InteropEngine engine(rng, clock);

  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string response = engine.Handle(line);
    std::fwrite(response.data(), 1, response.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  return 0;
}
