// Each bound of wire/limits.h at the limit (accepted by the encoder and the
// decoder) and one past it (refused by the encoder, rejected by the decoder).
// Past-the-limit inputs for the decoder are made by editing a valid encoding,
// since the encoder refuses to produce them.
#include "wire/limits.h"

#include <gtest/gtest.h>

#include "expect.h"
#include "protocol/limits.h"
#include "samples.h"
#include "wire/codec.h"

namespace parley::wire {
namespace {

using testing::Buffer;
using testing::DecodeError;
using testing::DecodesAndRoundTrips;
using testing::EditField;
using testing::Encoded;
using testing::EncodeError;
using testing::Sample;

Buffer AppendByte(Bytes value) { return testing::Concat(value, std::vector<std::uint8_t>{0x42}); }

std::vector<OneTimePreKey> PreKeys(std::size_t count) {
  std::vector<OneTimePreKey> prekeys;
  for (std::size_t i = 0; i < count; ++i) {
    prekeys.push_back({PreKeyId(kMaxPreKeyId - static_cast<std::uint32_t>(i)), testing::SampleKey(1)});
  }
  return prekeys;
}

// `bytes` with one more entry of repeated field `number`: a copy of the last.
Buffer WithOneMoreEntry(const Buffer& bytes, std::uint32_t number, const std::function<Buffer(Bytes)>& vary) {
  Buffer last;
  for (const ProtoField& f : testing::FieldsOf(bytes)) {
    if (f.number == number) last.assign(f.bytes.begin(), f.bytes.end());
  }
  return testing::Concat(bytes, testing::BytesField(number, vary(last)));
}

// A prekey entry with another id, so that only the count is wrong.
Buffer OtherPreKeyId(Bytes prekey) {
  return testing::ReplaceField(prekey, 1, testing::VarintField(1, 12345));
}

TEST(WireLimits, AgreeWithTheProtocolLayer) {
  EXPECT_EQ(kMaxPreKeyId, protocol::kMaxPreKeyId);
  EXPECT_EQ(kMinRegistrationId, protocol::kMinRegistrationId);
  EXPECT_EQ(kMaxRegistrationId, protocol::kMaxRegistrationId);
  EXPECT_LE(kMaxContentSize, protocol::kMaxSerializedMessageSize);
}

TEST(WireLimits, FrameSize) {
  // A send whose frame is exactly kMaxFrameSize: one full content, and a
  // second one sized to fill the rest. Between 16 KiB and 2 MiB a length
  // takes 3 varint bytes, so the frame grows byte for byte with the content.
  SendMessagesRequest send = Sample<SendMessagesRequest>();
  send.messages.resize(2);
  send.messages[0].content.assign(kMaxContentSize, 1);
  send.messages[1].content.assign(100'000, 2);
  Request request{1, send};
  const std::size_t probe = EncodeFrame(request)->size();
  std::get<SendMessagesRequest>(request.body).messages[1].content.resize(100'000 + kMaxFrameSize - probe);
  const auto at_limit = EncodeFrame(request);
  ASSERT_TRUE(at_limit) << at_limit.error().message;
  ASSERT_EQ(at_limit->size(), kMaxFrameSize);
  EXPECT_TRUE(DecodeFrame(*at_limit));

  std::get<SendMessagesRequest>(request.body).messages[1].content.push_back(3);
  const auto past = EncodeFrame(request);
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, WireErrc::kTooLarge);
  Buffer past_bytes = *at_limit;
  past_bytes.push_back(0);
  const auto decoded = DecodeFrame(past_bytes);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, WireErrc::kTooLarge);
  // A larger caller cap does not raise the wire cap.
  EXPECT_EQ(DecodeFrame(past_bytes, 2 * kMaxFrameSize).error().code, WireErrc::kTooLarge);
}

RegisterRequest LargestRegister() {
  RegisterRequest r = Sample<RegisterRequest>();
  r.username = std::string(kMaxUsernameSize, 'z');
  r.invitation_token = std::string(kMaxInvitationTokenSize, '~');
  r.device_name = std::string(kMaxDeviceNameSize, 'n');
  r.prekeys = PreKeys(kMaxPreKeysPerUpload);
  return r;
}

LinkDeviceRequest LargestLinkDevice() {
  LinkDeviceRequest r = Sample<LinkDeviceRequest>();
  r.code = std::string(kMaxLinkCodeSize, 'Q');
  r.device_name = std::string(kMaxDeviceNameSize, 'n');
  r.prekeys = PreKeys(kMaxPreKeysPerUpload);
  return r;
}

TEST(WireLimits, UnauthenticatedRequestsFitTheUnauthenticatedFrameSize) {
  for (const Request& request :
       {Request{~std::uint64_t{0}, LargestRegister()}, Request{~std::uint64_t{0}, LargestLinkDevice()},
        Request{~std::uint64_t{0}, Sample<AuthenticateRequest>()}}) {
    const Buffer frame = *EncodeFrame(request);
    EXPECT_LE(frame.size(), kMaxUnauthenticatedFrameSize);
    EXPECT_TRUE(DecodeFrame(frame, kMaxUnauthenticatedFrameSize));
  }
}

TEST(WireLimits, UnauthenticatedFrameSize) {
  // An upload of many prekeys is fine once authenticated, too large before.
  UploadKeysRequest upload{std::nullopt, PreKeys(kMaxPreKeysPerUpload)};
  Request request{1, upload};
  Buffer frame = *EncodeFrame(request);
  ASSERT_LT(frame.size(), kMaxUnauthenticatedFrameSize);
  // Pad with an unknown bytes field up to exactly the limit, then one more.
  const std::size_t pad = kMaxUnauthenticatedFrameSize - frame.size() - 4;  // key 2 bytes + length 2 bytes
  const Buffer at_limit = testing::Concat(frame, testing::BytesField(100, std::vector<std::uint8_t>(pad, 0)));
  ASSERT_EQ(at_limit.size(), kMaxUnauthenticatedFrameSize);
  EXPECT_TRUE(DecodeFrame(at_limit, kMaxUnauthenticatedFrameSize));
  const Buffer past = testing::Concat(frame, testing::BytesField(100, std::vector<std::uint8_t>(pad + 1, 0)));
  ASSERT_EQ(past.size(), kMaxUnauthenticatedFrameSize + 1);
  EXPECT_EQ(DecodeFrame(past, kMaxUnauthenticatedFrameSize).error().code, WireErrc::kTooLarge);
  EXPECT_TRUE(DecodeFrame(past));
}

TEST(WireLimits, ContentSize) {
  OutgoingMessage message = Sample<OutgoingMessage>();
  message.content.assign(kMaxContentSize, 7);
  const Buffer at_limit = Encoded(message);
  EXPECT_TRUE(DecodesAndRoundTrips<OutgoingMessage>(at_limit));
  EXPECT_EQ(DecodeError<OutgoingMessage>(EditField(at_limit, 4, AppendByte)), WireErrc::kTooLarge);
  message.content.push_back(7);
  EXPECT_EQ(EncodeError(message), WireErrc::kTooLarge);

  Envelope envelope = Sample<Envelope>();
  envelope.content.assign(kMaxContentSize, 8);
  const Buffer envelope_at_limit = Encoded(envelope);
  EXPECT_TRUE(DecodesAndRoundTrips<Envelope>(envelope_at_limit));
  EXPECT_EQ(DecodeError<Envelope>(EditField(envelope_at_limit, 7, AppendByte)), WireErrc::kTooLarge);
  envelope.content.push_back(8);
  EXPECT_EQ(EncodeError(envelope), WireErrc::kTooLarge);
}

TEST(WireLimits, PreKeysPerUpload) {
  UploadKeysRequest upload{std::nullopt, PreKeys(kMaxPreKeysPerUpload)};
  const Buffer upload_at_limit = Encoded(upload);
  EXPECT_TRUE(DecodesAndRoundTrips<UploadKeysRequest>(upload_at_limit));
  EXPECT_EQ(DecodeError<UploadKeysRequest>(WithOneMoreEntry(upload_at_limit, 2, OtherPreKeyId)),
            WireErrc::kTooMany);
  upload.prekeys.push_back({PreKeyId(1), testing::SampleKey(2)});
  EXPECT_EQ(EncodeError(upload), WireErrc::kTooMany);

  RegisterRequest reg = LargestRegister();
  const Buffer register_at_limit = Encoded(reg);
  EXPECT_TRUE(DecodesAndRoundTrips<RegisterRequest>(register_at_limit));
  EXPECT_EQ(DecodeError<RegisterRequest>(WithOneMoreEntry(register_at_limit, 6, OtherPreKeyId)),
            WireErrc::kTooMany);
  reg.prekeys.push_back({PreKeyId(1), testing::SampleKey(2)});
  EXPECT_EQ(EncodeError(reg), WireErrc::kTooMany);

  LinkDeviceRequest link = LargestLinkDevice();
  const Buffer link_at_limit = Encoded(link);
  EXPECT_TRUE(DecodesAndRoundTrips<LinkDeviceRequest>(link_at_limit));
  EXPECT_EQ(DecodeError<LinkDeviceRequest>(WithOneMoreEntry(link_at_limit, 5, OtherPreKeyId)),
            WireErrc::kTooMany);
  link.prekeys.push_back({PreKeyId(1), testing::SampleKey(2)});
  EXPECT_EQ(EncodeError(link), WireErrc::kTooMany);
}

Buffer OtherDevice(Bytes entry) { return testing::ReplaceField(entry, 1, testing::VarintField(1, 99)); }

TEST(WireLimits, MessagesPerSend) {
  SendMessagesRequest send = Sample<SendMessagesRequest>();
  send.messages.clear();
  for (std::uint32_t d = 1; d <= kMaxMessagesPerSend; ++d) {
    send.messages.push_back({DeviceId(d), RegistrationId(d), 1, {1, 2, 3}});
  }
  const Buffer at_limit = Encoded(send);
  EXPECT_TRUE(DecodesAndRoundTrips<SendMessagesRequest>(at_limit));
  EXPECT_EQ(DecodeError<SendMessagesRequest>(WithOneMoreEntry(at_limit, 3, OtherDevice)), WireErrc::kTooMany);
  send.messages.push_back({DeviceId(99), RegistrationId(1), 1, {1}});
  EXPECT_EQ(EncodeError(send), WireErrc::kTooMany);

  RecipientMessages recipient{testing::SampleAccount(1), {}, send.messages};
  recipient.messages.pop_back();
  const Buffer recipient_at_limit = Encoded(recipient);
  EXPECT_TRUE(DecodesAndRoundTrips<RecipientMessages>(recipient_at_limit));
  EXPECT_EQ(DecodeError<RecipientMessages>(WithOneMoreEntry(recipient_at_limit, 3, OtherDevice)),
            WireErrc::kTooMany);
}

Buffer OtherAccount(Bytes entry) {
  return testing::ReplaceField(entry, 1, testing::BytesField(1, testing::SampleAccount(250).value().bytes()));
}

TEST(WireLimits, RecipientsPerMultiSend) {
  SendMultiRecipientRequest multi;
  for (std::size_t i = 0; i < kMaxRecipientsPerMultiSend; ++i) {
    std::array<std::uint8_t, kAccountIdSize> id{};
    id[0] = static_cast<std::uint8_t>(i);
    id[1] = static_cast<std::uint8_t>(i >> 8);
    multi.recipients.push_back({AccountId(Uuid(id)), {}, {{DeviceId(1), RegistrationId(1), 1, {9}}}});
  }
  const Buffer at_limit = Encoded(multi);
  EXPECT_TRUE(DecodesAndRoundTrips<SendMultiRecipientRequest>(at_limit));
  EXPECT_EQ(DecodeError<SendMultiRecipientRequest>(WithOneMoreEntry(at_limit, 1, OtherAccount)),
            WireErrc::kTooMany);
  multi.recipients.push_back({testing::SampleAccount(250), {}, {{DeviceId(1), RegistrationId(1), 1, {9}}}});
  EXPECT_EQ(EncodeError(multi), WireErrc::kTooMany);

  SendMultiRecipientResult result{1, {}};
  for (const RecipientMessages& r : multi.recipients) {
    result.results.push_back({r.recipient, ResponseStatus::kOk, std::nullopt, std::nullopt});
  }
  result.results.pop_back();
  const Buffer results_at_limit = Encoded(result);
  EXPECT_TRUE(DecodesAndRoundTrips<SendMultiRecipientResult>(results_at_limit));
  EXPECT_EQ(DecodeError<SendMultiRecipientResult>(WithOneMoreEntry(results_at_limit, 2, OtherAccount)),
            WireErrc::kTooMany);
  result.results.push_back({testing::SampleAccount(250), ResponseStatus::kOk, std::nullopt, std::nullopt});
  EXPECT_EQ(EncodeError(result), WireErrc::kTooMany);
}

TEST(WireLimits, DevicesPerAccount) {
  ListDevicesResult list;
  BundlesResult bundles{testing::SampleAccount(1), {}};
  for (std::uint32_t d = 1; d <= kMaxDevicesPerAccount; ++d) {
    list.devices.push_back({DeviceId(d), std::nullopt, 1, 2});
    DeviceBundle bundle = Sample<DeviceBundle>();
    bundle.device_id = DeviceId(d);
    bundles.devices.push_back(bundle);
  }
  const Buffer list_at_limit = Encoded(list);
  EXPECT_TRUE(DecodesAndRoundTrips<ListDevicesResult>(list_at_limit));
  EXPECT_EQ(DecodeError<ListDevicesResult>(WithOneMoreEntry(list_at_limit, 1, OtherDevice)),
            WireErrc::kTooMany);
  list.devices.push_back({DeviceId(99), std::nullopt, 1, 2});
  EXPECT_EQ(EncodeError(list), WireErrc::kTooMany);

  const Buffer bundles_at_limit = Encoded(bundles);
  EXPECT_TRUE(DecodesAndRoundTrips<BundlesResult>(bundles_at_limit));
  EXPECT_EQ(DecodeError<BundlesResult>(WithOneMoreEntry(bundles_at_limit, 2, OtherDevice)),
            WireErrc::kTooMany);
  bundles.devices.push_back(bundles.devices.back());
  bundles.devices.back().device_id = DeviceId(99);
  EXPECT_EQ(EncodeError(bundles), WireErrc::kTooMany);

  IdentityKeysResult identities{testing::SampleAccount(1), {}};
  for (std::uint32_t d = 1; d <= kMaxDevicesPerAccount; ++d) {
    identities.devices.push_back({DeviceId(d), testing::SampleKey(static_cast<std::uint8_t>(d))});
  }
  const Buffer identities_at_limit = Encoded(identities);
  EXPECT_TRUE(DecodesAndRoundTrips<IdentityKeysResult>(identities_at_limit));
  EXPECT_EQ(DecodeError<IdentityKeysResult>(WithOneMoreEntry(identities_at_limit, 2, OtherDevice)),
            WireErrc::kTooMany);
  identities.devices.push_back({DeviceId(99), testing::SampleKey(99)});
  EXPECT_EQ(EncodeError(identities), WireErrc::kTooMany);

  MismatchedDevices mismatched;
  for (std::uint32_t d = 1; d <= kMaxDevicesPerAccount; ++d) mismatched.missing.push_back(DeviceId(d));
  const Buffer mismatched_at_limit = Encoded(mismatched);
  EXPECT_TRUE(DecodesAndRoundTrips<MismatchedDevices>(mismatched_at_limit));
  EXPECT_EQ(DecodeError<MismatchedDevices>(testing::Concat(mismatched_at_limit, testing::VarintField(1, 99))),
            WireErrc::kTooMany);
  mismatched.missing.push_back(DeviceId(99));
  EXPECT_EQ(EncodeError(mismatched), WireErrc::kTooMany);
}

// A string field at its maximum size and one byte more; `fill` is a valid
// character.
template <class T>
void ExpectStringCap(T& message, std::string& field, std::uint32_t number, std::size_t max, char fill) {
  field.assign(max, fill);
  const Buffer at_limit = Encoded(message);
  EXPECT_TRUE(DecodesAndRoundTrips<T>(at_limit));
  const Buffer past = EditField(at_limit, number, [&](Bytes value) {
    return testing::Concat(value, std::vector<std::uint8_t>{static_cast<std::uint8_t>(fill)});
  });
  EXPECT_EQ(DecodeError<T>(past), WireErrc::kTooLarge);
  field.push_back(fill);
  EXPECT_EQ(EncodeError(message), WireErrc::kTooLarge);
}

TEST(WireLimits, StringSizes) {
  SetUsernameRequest set_username;
  ExpectStringCap(set_username, set_username.username, 1, kMaxUsernameSize, 'a');
  RegisterRequest reg = Sample<RegisterRequest>();
  ExpectStringCap(reg, reg.username, 1, kMaxUsernameSize, 'b');
  reg = Sample<RegisterRequest>();
  ExpectStringCap(reg, *reg.invitation_token, 2, kMaxInvitationTokenSize, '#');
  reg = Sample<RegisterRequest>();
  ExpectStringCap(reg, *reg.device_name, 7, kMaxDeviceNameSize, 'd');
  LinkDeviceRequest link = Sample<LinkDeviceRequest>();
  ExpectStringCap(link, link.code, 1, kMaxLinkCodeSize, 'C');
  link = Sample<LinkDeviceRequest>();
  ExpectStringCap(link, link.device_name, 6, kMaxDeviceNameSize, 'e');
  CreateLinkCodeResult code = Sample<CreateLinkCodeResult>();
  ExpectStringCap(code, code.code, 1, kMaxLinkCodeSize, '7');
  DeviceInfo info = Sample<DeviceInfo>();
  ExpectStringCap(info, *info.name, 2, kMaxDeviceNameSize, 'f');
  GetBundlesRequest get{std::string(), std::nullopt};
  ExpectStringCap(get, std::get<std::string>(get.target), 2, kMaxUsernameSize, 'g');
  GetIdentityKeysRequest identities{std::string(), std::nullopt};
  ExpectStringCap(identities, std::get<std::string>(identities.target), 2, kMaxUsernameSize, 'i');
  Response response{1, ResponseStatus::kInternal, "", std::nullopt, std::monostate{}};
  ExpectStringCap(response, response.error_detail, 3, kMaxErrorDetailSize, ' ');
}

TEST(WireLimits, StringMinimums) {
  SetUsernameRequest at_limit{std::string(kMinUsernameSize, 'a')};
  EXPECT_TRUE(DecodesAndRoundTrips<SetUsernameRequest>(Encoded(at_limit)));
  const Buffer short_name = testing::BytesField(1, std::vector<std::uint8_t>(kMinUsernameSize - 1, 'a'));
  EXPECT_EQ(DecodeError<SetUsernameRequest>(short_name), WireErrc::kInvalidText);
  EXPECT_EQ(EncodeError(SetUsernameRequest{std::string(kMinUsernameSize - 1, 'a')}), WireErrc::kInvalidText);

  CreateLinkCodeResult code{std::string(kMinLinkCodeSize, 'A'), 1};
  EXPECT_TRUE(DecodesAndRoundTrips<CreateLinkCodeResult>(Encoded(code)));
  const Buffer short_code =
      testing::EditField(Encoded(code), 1, [](Bytes v) { return Buffer(v.begin() + 1, v.end()); });
  EXPECT_EQ(DecodeError<CreateLinkCodeResult>(short_code), WireErrc::kInvalidText);
  code.code.pop_back();
  EXPECT_EQ(EncodeError(code), WireErrc::kInvalidText);

  DeviceInfo info = Sample<DeviceInfo>();
  info.name = std::string(1, 'x');
  EXPECT_TRUE(DecodesAndRoundTrips<DeviceInfo>(Encoded(info)));
  const Buffer empty_name = testing::EditField(Encoded(info), 2, [](Bytes) { return Buffer{}; });
  EXPECT_EQ(DecodeError<DeviceInfo>(empty_name), WireErrc::kInvalidText);
  info.name = "";
  EXPECT_EQ(EncodeError(info), WireErrc::kInvalidText);
}

// An integer field at `low` and `high` decodes; one past either end does not.
template <class T>
void ExpectRange(const T& sample, std::uint32_t number, std::uint64_t low, std::uint64_t high) {
  const Buffer encoded = Encoded(sample);
  for (std::uint64_t value : {low, high}) {
    EXPECT_TRUE(DecodeMessage<T>(testing::ReplaceField(encoded, number, testing::VarintField(number, value))))
        << value;
  }
  if (low > 0) {
    EXPECT_EQ(DecodeError<T>(testing::ReplaceField(encoded, number, testing::VarintField(number, low - 1))),
              WireErrc::kOutOfRange);
  }
  EXPECT_EQ(DecodeError<T>(testing::ReplaceField(encoded, number, testing::VarintField(number, high + 1))),
            WireErrc::kOutOfRange);
}

TEST(WireLimits, DeviceIds) {
  ExpectRange(Sample<AuthenticateRequest>(), 2, kPrimaryDeviceId, kMaxDeviceId);
  ExpectRange(Sample<UnlinkDeviceRequest>(), 1, kPrimaryDeviceId, kMaxDeviceId);
  ExpectRange(Sample<GetBundlesRequest>(), 3, kPrimaryDeviceId, kMaxDeviceId);
  ExpectRange(Sample<GetIdentityKeysRequest>(), 3, kPrimaryDeviceId, kMaxDeviceId);
  ExpectRange(Sample<DeviceIdentity>(), 1, kPrimaryDeviceId, kMaxDeviceId);
  ExpectRange(Sample<OutgoingMessage>(), 1, kPrimaryDeviceId, kMaxDeviceId);
  ExpectRange(Sample<DeviceInfo>(), 1, kPrimaryDeviceId, kMaxDeviceId);
  ExpectRange(Sample<DeviceBundle>(), 1, kPrimaryDeviceId, kMaxDeviceId);
  ExpectRange(Sample<Envelope>(), 4, kPrimaryDeviceId, kMaxDeviceId);
  ExpectRange(Sample<LinkDeviceResult>(), 2, kPrimaryDeviceId + 1, kMaxDeviceId);
  ExpectRange(Sample<RegisterResult>(), 2, kPrimaryDeviceId, kPrimaryDeviceId);
  EXPECT_EQ(EncodeError(UnlinkDeviceRequest{DeviceId(kMaxDeviceId + 1)}), WireErrc::kOutOfRange);
  EXPECT_EQ(EncodeError(UnlinkDeviceRequest{DeviceId(0)}), WireErrc::kOutOfRange);
}

TEST(WireLimits, PushWindow) {
  ExpectRange(Sample<AuthenticateRequest>(), 4, 1, kMaxPushWindow);
  AuthenticateRequest request = Sample<AuthenticateRequest>();
  request.push_window = 0;
  EXPECT_EQ(EncodeError(request), WireErrc::kOutOfRange);
  request.push_window = kMaxPushWindow + 1;
  EXPECT_EQ(EncodeError(request), WireErrc::kOutOfRange);
  // Old clients do not send it: the server's default applies.
  request.push_window.reset();
  auto decoded = DecodeMessage<AuthenticateRequest>(Encoded(request));
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded->push_window);
}

TEST(WireLimits, RegistrationIds) {
  ExpectRange(Sample<RegisterRequest>(), 3, kMinRegistrationId, kMaxRegistrationId);
  ExpectRange(Sample<LinkDeviceRequest>(), 2, kMinRegistrationId, kMaxRegistrationId);
  ExpectRange(Sample<OutgoingMessage>(), 2, kMinRegistrationId, kMaxRegistrationId);
  ExpectRange(Sample<DeviceBundle>(), 2, kMinRegistrationId, kMaxRegistrationId);
  OutgoingMessage message = Sample<OutgoingMessage>();
  message.registration_id = RegistrationId(kMaxRegistrationId + 1);
  EXPECT_EQ(EncodeError(message), WireErrc::kOutOfRange);
}

TEST(WireLimits, PreKeyIds) {
  ExpectRange(Sample<SignedPreKey>(), 1, 0, kMaxPreKeyId);
  ExpectRange(Sample<OneTimePreKey>(), 1, 0, kMaxPreKeyId);
  OneTimePreKey prekey = Sample<OneTimePreKey>();
  prekey.id = PreKeyId(kMaxPreKeyId + 1);
  EXPECT_EQ(EncodeError(prekey), WireErrc::kOutOfRange);
}

TEST(WireLimits, Uint32FieldsRejectLargerVarints) {
  ExpectRange(Sample<PreKeyCountResult>(), 1, 0, 0xFFFF'FFFF);
  ExpectRange(Sample<PreKeysLow>(), 1, 0, 0xFFFF'FFFF);
  ExpectRange(Sample<OutgoingMessage>(), 3, 0, 0xFFFF'FFFF);
  ExpectRange(Sample<Envelope>(), 5, 0, 0xFFFF'FFFF);
}

}  // namespace
}  // namespace parley::wire
