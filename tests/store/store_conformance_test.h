// The fixture of the store conformance suite (store_conformance_test.cc),
// parameterized by the backend under test.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/rng.h"
#include "store/server_store.h"
#include "store_backend.h"

namespace parley::store::conformance {

// Success, or a failure that names the store error: ASSERT_TRUE(IsOk(...)).
template <class T>
::testing::AssertionResult IsOk(const StoreResult<T>& result) {
  if (result) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << ToString(result.error().code) << ": " << result.error().message;
}

// Names the backend in test names and failure messages.
struct BackendParam {
  const char* name;
  StoreBackendFactory factory;
  friend void PrintTo(const BackendParam& param, std::ostream* out) { *out << param.name; }
};

class StoreConformanceTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // (Re)opens the store on the test's database with options_: a restart.
  void OpenStore();
  ServerStore& store() { return *store_; }

  static NewDevice Device(std::uint32_t registration_id, std::string name);
  AccountId NewId();
  AccountId MustCreateAccount(const std::string& username);
  DeviceAddress MustAddDevice(const AccountId& account);
  // Identity key Key(1), signed prekey 7, one-time prekeys 1..one_time_count.
  void MustUploadKeys(const DeviceAddress& device, std::uint32_t one_time_count);
  // One send from `sender` with a client id derived from (sender device,
  // client_id), one envelope per recipient (type i+1, distinct contents).
  StoreResult<EnqueueResult> Send(const DeviceAddress& sender, std::uint8_t client_id,
                                  const std::vector<DeviceAddress>& recipients,
                                  std::size_t content_size = 100);
  StoreResult<EnqueueResult> SendWithId(const DeviceAddress& sender, const ClientMessageId& id,
                                        const std::vector<DeviceAddress>& recipients,
                                        std::size_t content_size = 100);
  // The device's whole queue, fetched in pages.
  std::vector<StoredEnvelope> FetchAll(const DeviceAddress& device);

  ManualClock clock_{1'700'000'000'000};
  StoreOptions options_;
  DeterministicRng rng_{42};
  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<ServerStore> store_;
};

}  // namespace parley::store::conformance
