// The dispatch helpers, the names of codes, and how a credential prints.
#include "wire/messages.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "samples.h"
#include "wire/error.h"
#include "wire/response_status.h"

namespace parley::wire {
namespace {

using testing::Sample;

TEST(Messages, OnlyRegisterAuthenticateLinkAndPingBeforeAuthentication) {
  std::set<std::string_view> allowed;
  for (const auto& [name, frame] : testing::SampleFrames()) {
    if (const auto* request = std::get_if<Request>(&frame);
        request && AllowedBeforeAuthentication(request->body)) {
      allowed.insert(RequestName(request->body));
    }
  }
  EXPECT_EQ(allowed, (std::set<std::string_view>{"register_account", "authenticate", "link_device", "ping"}));
}

TEST(Messages, RequestNamesAreDistinct) {
  std::set<std::string_view> names;
  std::size_t kinds = 0;
  for (std::size_t i = 0; i < std::variant_size_v<RequestBody>; ++i) ++kinds;
  const RequestBody bodies[] = {
      Sample<RegisterRequest>(),           Sample<AuthenticateRequest>(),  Sample<CreateLinkCodeRequest>(),
      Sample<LinkDeviceRequest>(),         Sample<ListDevicesRequest>(),   Sample<UnlinkDeviceRequest>(),
      Sample<SetUsernameRequest>(),        Sample<DeleteAccountRequest>(), Sample<UploadKeysRequest>(),
      Sample<GetPreKeyCountRequest>(),     Sample<GetBundlesRequest>(),    Sample<SendMessagesRequest>(),
      Sample<SendMultiRecipientRequest>(), Sample<PingRequest>(),          Sample<LookupUsernameRequest>(),
      Sample<GetIdentityKeysRequest>()};
  for (const RequestBody& body : bodies) names.insert(RequestName(body));
  EXPECT_EQ(names.size(), kinds);
  EXPECT_EQ(RequestName(Sample<SendMessagesRequest>()), "send_messages");
}

TEST(Messages, ExpectedResponses) {
  const Response bundles{1, ResponseStatus::kOk, "", std::nullopt, Sample<BundlesResult>()};
  EXPECT_TRUE(IsExpectedResponse(Sample<GetBundlesRequest>(), bundles));
  EXPECT_FALSE(IsExpectedResponse(Sample<SendMessagesRequest>(), bundles));
  EXPECT_FALSE(IsExpectedResponse(Sample<LookupUsernameRequest>(), bundles));
  const Response lookup{1, ResponseStatus::kOk, "", std::nullopt, Sample<UsernameLookupResult>()};
  EXPECT_TRUE(IsExpectedResponse(Sample<LookupUsernameRequest>(), lookup));
  EXPECT_FALSE(IsExpectedResponse(Sample<GetBundlesRequest>(), lookup));
  const Response identities{1, ResponseStatus::kOk, "", std::nullopt, Sample<IdentityKeysResult>()};
  EXPECT_TRUE(IsExpectedResponse(Sample<GetIdentityKeysRequest>(), identities));
  EXPECT_FALSE(IsExpectedResponse(Sample<GetBundlesRequest>(), identities));
  EXPECT_FALSE(IsExpectedResponse(Sample<GetIdentityKeysRequest>(), bundles));
  EXPECT_EQ(RequestName(Sample<GetIdentityKeysRequest>()), "get_identity_keys");

  const Response empty_ok{1, ResponseStatus::kOk, "", std::nullopt, std::monostate{}};
  EXPECT_TRUE(IsExpectedResponse(Sample<AuthenticateRequest>(), empty_ok));
  EXPECT_TRUE(IsExpectedResponse(Sample<PingRequest>(), empty_ok));
  EXPECT_FALSE(IsExpectedResponse(Sample<RegisterRequest>(), empty_ok));

  const Response mismatched{1, ResponseStatus::kMismatchedDevices, "", std::nullopt,
                            Sample<MismatchedDevices>()};
  EXPECT_TRUE(IsExpectedResponse(Sample<SendMessagesRequest>(), mismatched));
  EXPECT_FALSE(IsExpectedResponse(Sample<SendMultiRecipientRequest>(), mismatched));

  const Response not_found{1, ResponseStatus::kNotFound, "", std::nullopt, std::monostate{}};
  EXPECT_TRUE(IsExpectedResponse(Sample<GetBundlesRequest>(), not_found));
  EXPECT_TRUE(IsExpectedResponse(Sample<RegisterRequest>(), not_found));

  EXPECT_TRUE(IsExpectedResponse(Sample<RegisterRequest>(), Response{1, ResponseStatus::kOk, "", std::nullopt,
                                                                     Sample<RegisterResult>()}));
  EXPECT_FALSE(
      IsExpectedResponse(Sample<LinkDeviceRequest>(),
                         Response{1, ResponseStatus::kOk, "", std::nullopt, Sample<RegisterResult>()}));
}

TEST(Messages, CredentialPrintsRedacted) {
  std::ostringstream os;
  os << testing::SampleCredential(1);
  EXPECT_EQ(os.str(), "<redacted>");
}

TEST(Messages, CredentialEqualityComparesEveryByte) {
  DeviceCredential a = testing::SampleCredential(1);
  DeviceCredential b = a;
  EXPECT_EQ(a, b);
  b.secret.bytes()[kCredentialSize - 1] ^= 1;
  EXPECT_FALSE(a == b);
}

TEST(Codes, NamesAreDistinct) {
  std::set<std::string_view> errc_names;
  for (int c = 0; c <= static_cast<int>(WireErrc::kInconsistentFields); ++c) {
    errc_names.insert(WireErrcName(static_cast<WireErrc>(c)));
  }
  EXPECT_EQ(errc_names.size(), static_cast<std::size_t>(WireErrc::kInconsistentFields) + 1);
  EXPECT_EQ(errc_names.count("unknown"), 0u);

  std::set<std::string_view> status_names;
  for (std::uint32_t s = 1; s <= 13; ++s) {
    ASSERT_TRUE(IsKnownResponseStatus(s));
    status_names.insert(ResponseStatusName(static_cast<ResponseStatus>(s)));
  }
  EXPECT_EQ(status_names.size(), 13u);
  EXPECT_FALSE(IsKnownResponseStatus(0));
  EXPECT_FALSE(IsKnownResponseStatus(14));
}

TEST(Codes, StatusForDecodeError) {
  EXPECT_EQ(StatusForDecodeError(WireErrc::kTooLarge), ResponseStatus::kTooLarge);
  EXPECT_EQ(StatusForDecodeError(WireErrc::kTooMany), ResponseStatus::kTooLarge);
  EXPECT_EQ(StatusForDecodeError(WireErrc::kMissingField), ResponseStatus::kBadRequest);
  EXPECT_EQ(StatusForDecodeError(WireErrc::kBadKeyType), ResponseStatus::kBadRequest);
}

}  // namespace
}  // namespace parley::wire
