// InteropEngine: answers the requests of the interop peer contract
// (shared/interop-peer.md) with Parley's protocol core.
//
// It holds every party of one process, each with its own identity, prekeys,
// sessions and sender keys in in-memory stores. Handle() takes one request
// line and returns one response line; it never throws and no request ends
// the process.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/rng.h"

namespace parley::interop {

struct InteropParty;

class InteropEngine {
 public:
  // rng and clock are not owned and must outlive the engine.
  InteropEngine(Rng& rng, const Clock& clock);
  ~InteropEngine();
  InteropEngine(const InteropEngine&) = delete;
  InteropEngine& operator=(const InteropEngine&) = delete;

  // One JSON request line in, one JSON response line out (no newline).
  std::string Handle(std::string_view line);

 private:
  Rng& rng_;
  const Clock& clock_;
  std::map<std::string, std::unique_ptr<InteropParty>, std::less<>> parties_;
};

}  // namespace parley::interop
