// The argument checks every backend shares (store/validation.h).
#include "store/validation.h"

#include <gtest/gtest.h>

#include "store/limits.h"

namespace parley::store {
namespace {

NewDevice DeviceNamed(std::string name) { return NewDevice{RegistrationId(1), std::move(name), {{1}, {2}}}; }

TEST(NormalizeUsername, LowerCasesAsciiOnly) {
  EXPECT_EQ(*NormalizeUsername("Alice_Smith.99"), "alice_smith.99");
  EXPECT_EQ(NormalizeUsername("").error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(NormalizeUsername("two words").error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(NormalizeUsername("tab\there").error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(NormalizeUsername("del\x7f").error().code, StoreErrc::kInvalidArgument);
  EXPECT_EQ(NormalizeUsername("caf\xc3\xa9").error().code, StoreErrc::kInvalidArgument);
  EXPECT_TRUE(NormalizeUsername(std::string(kMaxUsernameBytes, 'a')));
  EXPECT_EQ(NormalizeUsername(std::string(kMaxUsernameBytes + 1, 'a')).error().code,
            StoreErrc::kInvalidArgument);
}

TEST(ValidateNewDevice, NamesAreUtf8WithoutNul) {
  EXPECT_TRUE(ValidateNewDevice(DeviceNamed("")));
  EXPECT_TRUE(ValidateNewDevice(DeviceNamed("Laptop \xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xb1")));  // é € 📱
  EXPECT_TRUE(ValidateNewDevice(DeviceNamed("\xf4\x8f\xbf\xbf")));                             // U+10FFFF
  const char* bad[] = {
      "\xc3",              // truncated
      "\x80",              // stray continuation byte
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong, three bytes
      "\xed\xa0\x80",      // surrogate U+D800
      "\xf4\x90\x80\x80",  // U+110000
      "\xf8\x88\x80\x80",  // five-byte lead
      "\xe2\x28\xa1",      // bad continuation
  };
  for (const char* name : bad) {
    EXPECT_EQ(ValidateNewDevice(DeviceNamed(name)).error().code, StoreErrc::kInvalidArgument) << name;
  }
  EXPECT_EQ(ValidateNewDevice(DeviceNamed(std::string("a\0b", 3))).error().code, StoreErrc::kInvalidArgument);
  EXPECT_TRUE(ValidateNewDevice(DeviceNamed(std::string(kMaxDeviceNameBytes, 'n'))));
  EXPECT_EQ(ValidateNewDevice(DeviceNamed(std::string(kMaxDeviceNameBytes + 1, 'n'))).error().code,
            StoreErrc::kInvalidArgument);
}

TEST(ValidateNewDevice, CredentialFieldsAreNonEmptyAndCapped) {
  NewDevice device = DeviceNamed("d");
  device.credential.salt.assign(kMaxCredentialFieldBytes, 1);
  device.credential.hash.assign(kMaxCredentialFieldBytes, 2);
  EXPECT_TRUE(ValidateNewDevice(device));
  device.credential.hash.push_back(3);
  EXPECT_EQ(ValidateNewDevice(device).error().code, StoreErrc::kInvalidArgument);
  device.credential.hash.clear();
  EXPECT_EQ(ValidateNewDevice(device).error().code, StoreErrc::kInvalidArgument);
}

TEST(ValidateEnqueue, OrdersRecipientsAndRefusesRepeats) {
  const AccountId a(Uuid::Parse("00000000-0000-4000-8000-000000000001").value());
  const AccountId b(Uuid::Parse("00000000-0000-4000-8000-000000000002").value());
  const OutgoingEnvelope envelopes[] = {
      {{b, DeviceId(1)}, 1, {}}, {{a, DeviceId(2)}, 1, {}}, {{a, DeviceId(1)}, 1, {}}};
  auto order = ValidateEnqueue({{a, DeviceId(1)}, {}, envelopes});
  ASSERT_TRUE(order);
  EXPECT_EQ(*order, (std::vector<std::size_t>{2, 1, 0}));
  const OutgoingEnvelope repeated[] = {
      {{a, DeviceId(1)}, 1, {}}, {{b, DeviceId(1)}, 2, {}}, {{a, DeviceId(1)}, 3, {}}};
  EXPECT_EQ(ValidateEnqueue({{a, DeviceId(1)}, {}, repeated}).error().code, StoreErrc::kInvalidArgument);
}

TEST(ToString, NamesEveryCode) {
  EXPECT_EQ(ToString(StoreErrc::kNotFound), "not_found");
  EXPECT_EQ(ToString(StoreErrc::kQueueFull), "queue_full");
  EXPECT_EQ(ToString(StoreErrc::kIncompatibleSchema), "incompatible_schema");
  for (int code = static_cast<int>(StoreErrc::kNotFound); code <= static_cast<int>(StoreErrc::kInternal);
       ++code) {
    EXPECT_NE(ToString(static_cast<StoreErrc>(code)), "unknown") << code;
  }
}

}  // namespace
}  // namespace parley::store
