// The interop request parser on arbitrary lines, then the engine on whatever
// parses: every line must get exactly one JSON response and nothing may end
// the process. The engine runs with a fixed seed so runs are repeatable.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/rng.h"
#include "interop_engine.h"
#include "interop_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  parley::DeterministicRng rng(1);
  parley::ManualClock clock(1'700'000'000'000);
  parley::interop::InteropEngine engine(rng, clock);
  // Each input is a short session: lines separated by '\n', at most 16.
  std::size_t start = 0;
  for (int lines = 0; lines < 16 && start <= input.size(); ++lines) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    const std::string response = engine.Handle(input.substr(start, end - start));
    auto parsed = nlohmann::json::parse(response, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("ok")) std::abort();
    start = end + 1;
  }
  return 0;
}
