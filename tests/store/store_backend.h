// The backend side of the store conformance suite: each backend under test
// provides an empty database per test and opens stores on it.
#pragma once

#include <memory>

#include "base/clock.h"
#include "store/server_store.h"

namespace parley::store::conformance {

class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // Makes a fresh, empty database for one test; reports failures through
  // GoogleTest (a backend that cannot start fails the test, never skips it).
  virtual void Create() = 0;
  // Opens a store on that database (again after a close: same data).
  virtual StoreResult<std::unique_ptr<ServerStore>> Open(const Clock& clock, const StoreOptions& options) = 0;
  // Removes the database.
  virtual void Destroy() = 0;
};

using StoreBackendFactory = std::unique_ptr<StoreBackend> (*)();

}  // namespace parley::store::conformance
