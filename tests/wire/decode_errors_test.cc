// Each decoder's error cases: missing and duplicated fields, wrong wire
// types, wrong fixed sizes and key types, garbage inside nested messages,
// bodies, text rules and the status/body rules of responses. Limits at and
// past their bound are in limits_test.cc; truncation of every message in
// round_trip_test.cc.
#include <gtest/gtest.h>

#include "expect.h"
#include "samples.h"
#include "wire/codec.h"
#include "wire/validate.h"

namespace parley::wire {
namespace {

using testing::BytesField;
using testing::Concat;
using testing::DecodeError;
using testing::EditField;
using testing::Encoded;
using testing::EncodeError;
using testing::ReplaceField;
using testing::Sample;
using testing::VarintField;
using testing::WithFieldTwice;
using testing::WithoutField;
using Buffer = testing::Buffer;

Buffer Bytes1(std::size_t n, std::uint8_t fill = 5) { return Buffer(n, fill); }

Buffer Text(std::string_view s) { return Buffer(s.begin(), s.end()); }

// A value one byte longer (the byte is a field key without its value when the
// value is a nested message).
Buffer AppendKey(Bytes value) { return Concat(value, std::vector<std::uint8_t>{0x08}); }
Buffer DropLast(Bytes value) { return Buffer(value.begin(), value.end() - 1); }

// Every field in `numbers`, removed on its own, is reported missing.
template <class T>
void ExpectRequired(std::initializer_list<std::uint32_t> numbers) {
  const Buffer encoded = Encoded(Sample<T>());
  for (std::uint32_t n : numbers) {
    EXPECT_EQ(DecodeError<T>(WithoutField(encoded, n)), WireErrc::kMissingField) << "field " << n;
  }
}

// Every field in `numbers`, written twice, is a duplicate.
template <class T>
void ExpectSingular(std::initializer_list<std::uint32_t> numbers) {
  const Buffer encoded = Encoded(Sample<T>());
  for (std::uint32_t n : numbers) {
    EXPECT_EQ(DecodeError<T>(WithFieldTwice(encoded, n)), WireErrc::kDuplicateField) << "field " << n;
  }
}

// Field `number` sent as a varint (or as bytes, for a varint field).
template <class T>
void ExpectWireType(std::uint32_t number, bool is_varint) {
  const Buffer encoded = Encoded(Sample<T>());
  const Buffer wrong = is_varint ? BytesField(number, Bytes1(1)) : VarintField(number, 1);
  EXPECT_EQ(DecodeError<T>(ReplaceField(encoded, number, wrong)), WireErrc::kWrongWireType)
      << "field " << number;
}

// A fixed-size bytes field one byte short and one byte long.
template <class T>
void ExpectFixedSize(std::uint32_t number) {
  const Buffer encoded = Encoded(Sample<T>());
  EXPECT_EQ(DecodeError<T>(EditField(encoded, number, DropLast)), WireErrc::kBadLength) << "field " << number;
  EXPECT_EQ(DecodeError<T>(EditField(encoded, number, AppendKey)), WireErrc::kBadLength)
      << "field " << number;
  EXPECT_EQ(DecodeError<T>(EditField(encoded, number, [](Bytes) { return Buffer{}; })), WireErrc::kBadLength);
}

// A public key field with another type byte, and with the wrong size.
template <class T>
void ExpectPublicKey(std::uint32_t number) {
  ExpectFixedSize<T>(number);
  const Buffer encoded = Encoded(Sample<T>());
  const Buffer wrong_type = EditField(encoded, number, [](Bytes key) {
    Buffer out(key.begin(), key.end());
    out[0] = 0x06;
    return out;
  });
  EXPECT_EQ(DecodeError<T>(wrong_type), WireErrc::kBadKeyType);
}

// Garbage after the last field of a nested message, and a nested message
// that is not protobuf at all.
template <class T>
void ExpectNestedMalformed(std::uint32_t number) {
  const Buffer encoded = Encoded(Sample<T>());
  EXPECT_EQ(DecodeError<T>(EditField(encoded, number, AppendKey)), WireErrc::kMalformed)
      << "field " << number;
  EXPECT_EQ(DecodeError<T>(EditField(encoded, number, [](Bytes) { return Buffer{0xFF}; })),
            WireErrc::kMalformed);
}

template <class T>
void ExpectText(std::uint32_t number, std::string_view invalid) {
  const Buffer encoded = Encoded(Sample<T>());
  EXPECT_EQ(DecodeError<T>(EditField(encoded, number, [&](Bytes) { return Text(invalid); })),
            WireErrc::kInvalidText)
      << invalid;
}

// ---- Frame, Request, Response, Push, PushAck ------------------------------------

TEST(DecodeFrame, Empty) { EXPECT_EQ(DecodeFrame({}).error().code, WireErrc::kNoBody); }

TEST(DecodeFrame, OnlyUnknownFields) {
  EXPECT_EQ(DecodeFrame(VarintField(9, 1)).error().code, WireErrc::kNoBody);
}

TEST(DecodeFrame, TwoBodies) {
  const Buffer request = BytesField(1, Encoded(Sample<Request>()));
  const Buffer ack = BytesField(4, Encoded(Sample<PushAck>()));
  EXPECT_EQ(DecodeFrame(Concat(request, ack)).error().code, WireErrc::kMultipleBodies);
  EXPECT_EQ(DecodeFrame(Concat(request, request)).error().code, WireErrc::kMultipleBodies);
}

TEST(DecodeFrame, BodyWithWrongWireType) {
  EXPECT_EQ(DecodeFrame(VarintField(1, 5)).error().code, WireErrc::kWrongWireType);
}

TEST(DecodeFrame, Truncated) {
  const Buffer frame = *EncodeFrame(Sample<Request>());
  EXPECT_EQ(DecodeFrame(Bytes(frame).first(frame.size() - 1)).error().code, WireErrc::kMalformed);
}

TEST(DecodeFrame, GarbageInsideTheBody) {
  const Buffer frame = *EncodeFrame(Sample<Push>());
  EXPECT_EQ(DecodeFrame(EditField(frame, 3, AppendKey)).error().code, WireErrc::kMalformed);
}

TEST(DecodeFrame, ErrorsOfTheBodyComeThrough) {
  const Buffer frame = *EncodeFrame(Sample<Request>());
  const Buffer without_id = EditField(frame, 1, [](Bytes request) { return WithoutField(request, 1); });
  EXPECT_EQ(DecodeFrame(without_id).error().code, WireErrc::kMissingField);
}

TEST(DecodeRequest, Errors) {
  ExpectRequired<Request>({1});
  ExpectSingular<Request>({1});
  ExpectWireType<Request>(1, true);
  const Buffer encoded = Encoded(Sample<Request>());
  EXPECT_EQ(DecodeError<Request>(WithoutField(encoded, 30)), WireErrc::kNoBody);
  EXPECT_EQ(DecodeError<Request>(WithFieldTwice(encoded, 30)), WireErrc::kMultipleBodies);
  EXPECT_EQ(DecodeError<Request>(Concat(encoded, BytesField(40, {}))), WireErrc::kMultipleBodies);
  // A body this version does not know is skipped, leaving none.
  EXPECT_EQ(DecodeError<Request>(Concat(VarintField(1, 3), BytesField(99, {}))), WireErrc::kNoBody);
  ExpectNestedMalformed<Request>(30);
}

TEST(DecodeResponse, Errors) {
  ExpectRequired<Response>({1, 2});
  ExpectSingular<Response>({1, 2});
  ExpectWireType<Response>(1, true);
  ExpectWireType<Response>(2, true);
  ExpectNestedMalformed<Response>(22);
  const Buffer encoded = Encoded(Sample<Response>());
  EXPECT_EQ(DecodeError<Response>(Concat(encoded, BytesField(30, Encoded(Sample<SendResult>())))),
            WireErrc::kMultipleBodies);
}

TEST(DecodeResponse, UnknownStatus) {
  const Buffer encoded = Encoded(Sample<Response>());
  for (std::uint64_t status : {0ull, 14ull, 1000ull}) {
    EXPECT_EQ(DecodeError<Response>(ReplaceField(encoded, 2, VarintField(2, status))),
              WireErrc::kUnknownEnumValue)
        << status;
  }
  Response response = Sample<Response>();
  response.status = static_cast<ResponseStatus>(14);
  EXPECT_EQ(EncodeError(response), WireErrc::kUnknownEnumValue);
}

Response MakeResponse(ResponseStatus status, ResponseBody body, std::optional<std::uint64_t> retry_after_ms,
                      std::string detail = "") {
  return {5, status, std::move(detail), retry_after_ms, std::move(body)};
}

// The status/body rules, checked both ways: the encoder refuses, and the
// decoder rejects bytes written field by field.
void ExpectOutcomeError(const Response& response, WireErrc expected) {
  EXPECT_EQ(EncodeError(response), expected);
  ByteWriter w;
  WriteVarintField(w, 1, response.id);
  WriteVarintField(w, 2, static_cast<std::uint32_t>(response.status));
  if (!response.error_detail.empty()) WriteStringField(w, 3, response.error_detail);
  if (response.retry_after_ms) WriteVarintField(w, 4, *response.retry_after_ms);
  if (const auto* m = std::get_if<MismatchedDevices>(&response.body)) WriteBytesField(w, 32, Encoded(*m));
  if (const auto* s = std::get_if<SendResult>(&response.body)) WriteBytesField(w, 30, Encoded(*s));
  EXPECT_EQ(DecodeError<Response>(w.bytes()), expected);
}

TEST(DecodeResponse, StatusBodyRules) {
  const MismatchedDevices mismatched = Sample<MismatchedDevices>();
  ExpectOutcomeError(MakeResponse(ResponseStatus::kOk, mismatched, std::nullopt),
                     WireErrc::kInconsistentFields);
  ExpectOutcomeError(MakeResponse(ResponseStatus::kOk, std::monostate{}, 10), WireErrc::kInconsistentFields);
  ExpectOutcomeError(MakeResponse(ResponseStatus::kOk, std::monostate{}, std::nullopt, "why"),
                     WireErrc::kInconsistentFields);
  ExpectOutcomeError(MakeResponse(ResponseStatus::kMismatchedDevices, std::monostate{}, std::nullopt),
                     WireErrc::kInconsistentFields);
  ExpectOutcomeError(MakeResponse(ResponseStatus::kMismatchedDevices, SendResult{1}, std::nullopt),
                     WireErrc::kInconsistentFields);
  ExpectOutcomeError(MakeResponse(ResponseStatus::kNotFound, SendResult{1}, std::nullopt),
                     WireErrc::kInconsistentFields);
  ExpectOutcomeError(MakeResponse(ResponseStatus::kConflict, mismatched, std::nullopt),
                     WireErrc::kInconsistentFields);
  ExpectOutcomeError(MakeResponse(ResponseStatus::kRateLimited, std::monostate{}, std::nullopt),
                     WireErrc::kMissingField);
}

TEST(DecodeResponse, ErrorDetailIsPrintableAscii) {
  Response response = MakeResponse(ResponseStatus::kBadRequest, std::monostate{}, std::nullopt, "bad");
  const Buffer encoded = Encoded(response);
  for (std::string_view bad : {std::string_view("tab\there"), std::string_view("caf\xC3\xA9"),
                               std::string_view("nul\0", 4), std::string_view("del\x7F")}) {
    EXPECT_EQ(DecodeError<Response>(EditField(encoded, 3, [&](Bytes) { return Text(bad); })),
              WireErrc::kInvalidText);
    response.error_detail = std::string(bad);
    EXPECT_EQ(EncodeError(response), WireErrc::kInvalidText);
  }
}

TEST(DecodePush, Errors) {
  ExpectRequired<Push>({1});
  ExpectSingular<Push>({1});
  ExpectNestedMalformed<Push>(10);
  const Buffer encoded = Encoded(Sample<Push>());
  EXPECT_EQ(DecodeError<Push>(WithoutField(encoded, 10)), WireErrc::kNoBody);
  EXPECT_EQ(DecodeError<Push>(Concat(encoded, BytesField(11, {}))), WireErrc::kMultipleBodies);
  EXPECT_EQ(DecodeError<Push>(WithFieldTwice(encoded, 10)), WireErrc::kMultipleBodies);
}

TEST(DecodePushAck, Errors) {
  ExpectRequired<PushAck>({1});
  ExpectSingular<PushAck>({1});
  ExpectWireType<PushAck>(1, true);
}

// ---- Keys ---------------------------------------------------------------------------

TEST(DecodeSignedPreKey, Errors) {
  ExpectRequired<SignedPreKey>({1, 2, 3});
  ExpectSingular<SignedPreKey>({1, 2, 3});
  ExpectWireType<SignedPreKey>(1, true);
  ExpectWireType<SignedPreKey>(2, false);
  ExpectPublicKey<SignedPreKey>(2);
  ExpectFixedSize<SignedPreKey>(3);
}

TEST(DecodeOneTimePreKey, Errors) {
  ExpectRequired<OneTimePreKey>({1, 2});
  ExpectSingular<OneTimePreKey>({1, 2});
  ExpectWireType<OneTimePreKey>(1, true);
  ExpectPublicKey<OneTimePreKey>(2);
}

// ---- Account and device requests ----------------------------------------------------

TEST(DecodeRegisterRequest, Errors) {
  ExpectRequired<RegisterRequest>({1, 3, 4, 5});
  ExpectSingular<RegisterRequest>({1, 2, 3, 4, 5, 7});
  ExpectWireType<RegisterRequest>(1, false);
  ExpectWireType<RegisterRequest>(3, true);
  ExpectWireType<RegisterRequest>(6, false);
  ExpectPublicKey<RegisterRequest>(4);
  ExpectNestedMalformed<RegisterRequest>(5);
  ExpectNestedMalformed<RegisterRequest>(6);
  ExpectText<RegisterRequest>(1, "al ice");
  ExpectText<RegisterRequest>(1, "al\xC3\xA9");
  ExpectText<RegisterRequest>(2, "has space");
  ExpectText<RegisterRequest>(2, "");
  ExpectText<RegisterRequest>(7, "bell\x07");
  ExpectText<RegisterRequest>(7, "\xC3");              // truncated sequence
  ExpectText<RegisterRequest>(7, "\xC0\xAF");          // overlong '/'
  ExpectText<RegisterRequest>(7, "\xED\xA0\x80");      // surrogate
  ExpectText<RegisterRequest>(7, "\xF4\x90\x80\x80");  // past U+10FFFF
  ExpectText<RegisterRequest>(7, "\xC2\x85");          // C1 control (NEL)
  // Nested errors come through.
  const Buffer encoded = Encoded(Sample<RegisterRequest>());
  EXPECT_EQ(DecodeError<RegisterRequest>(EditField(encoded, 5, [](Bytes k) { return WithoutField(k, 3); })),
            WireErrc::kMissingField);
  EXPECT_EQ(
      DecodeError<RegisterRequest>(EditField(
          encoded, 6, [](Bytes k) { return EditField(k, 2, [](Bytes key) { return DropLast(key); }); })),
      WireErrc::kBadLength);
}

TEST(DecodeRegisterRequest, DuplicatePreKeyIds) {
  RegisterRequest r = Sample<RegisterRequest>();
  r.prekeys[1].id = r.prekeys[0].id;
  EXPECT_EQ(EncodeError(r), WireErrc::kDuplicateEntry);
  const Buffer encoded = Encoded(Sample<RegisterRequest>());
  const Buffer first_twice = Concat(encoded, BytesField(6, Encoded(Sample<RegisterRequest>().prekeys[0])));
  EXPECT_EQ(DecodeError<RegisterRequest>(first_twice), WireErrc::kDuplicateEntry);
}

TEST(DecodeAuthenticateRequest, Errors) {
  ExpectRequired<AuthenticateRequest>({1, 2, 3});
  ExpectSingular<AuthenticateRequest>({1, 2, 3, 4});
  ExpectWireType<AuthenticateRequest>(2, true);
  ExpectWireType<AuthenticateRequest>(4, true);
  ExpectFixedSize<AuthenticateRequest>(1);
  ExpectFixedSize<AuthenticateRequest>(3);
}

TEST(DecodeLinkDeviceRequest, Errors) {
  ExpectRequired<LinkDeviceRequest>({1, 2, 3, 4, 6});
  ExpectSingular<LinkDeviceRequest>({1, 2, 3, 4, 6});
  ExpectPublicKey<LinkDeviceRequest>(3);
  ExpectNestedMalformed<LinkDeviceRequest>(4);
  ExpectNestedMalformed<LinkDeviceRequest>(5);
  ExpectText<LinkDeviceRequest>(1, "abcdefghjkmnpqrstuvwxyz234");  // lower case
  ExpectText<LinkDeviceRequest>(1, "ABCDEFGHJKMNPQRSTUVWXYZ23-");
  ExpectText<LinkDeviceRequest>(6, "");
  ExpectText<LinkDeviceRequest>(6, "new\nline");
}

TEST(DecodeUnlinkDeviceRequest, Errors) {
  ExpectRequired<UnlinkDeviceRequest>({1});
  ExpectSingular<UnlinkDeviceRequest>({1});
  ExpectWireType<UnlinkDeviceRequest>(1, true);
}

TEST(DecodeSetUsernameRequest, Errors) {
  ExpectRequired<SetUsernameRequest>({1});
  ExpectSingular<SetUsernameRequest>({1});
  ExpectWireType<SetUsernameRequest>(1, false);
  ExpectText<SetUsernameRequest>(1, "bob-b");
  ExpectText<SetUsernameRequest>(1, "");
}

TEST(DecodeEmptyRequests, AcceptUnknownFieldsOnly) {
  const Buffer unknown = VarintField(3, 1);
  EXPECT_EQ(DecodeError<CreateLinkCodeRequest>(unknown), std::nullopt);
  EXPECT_EQ(DecodeError<ListDevicesRequest>(unknown), std::nullopt);
  EXPECT_EQ(DecodeError<DeleteAccountRequest>(unknown), std::nullopt);
  EXPECT_EQ(DecodeError<GetPreKeyCountRequest>(unknown), std::nullopt);
  EXPECT_EQ(DecodeError<PingRequest>(unknown), std::nullopt);
  EXPECT_EQ(DecodeError<QueueEmpty>(unknown), std::nullopt);
  const Buffer truncated = {0x08};
  EXPECT_EQ(DecodeError<PingRequest>(truncated), WireErrc::kMalformed);
  EXPECT_EQ(DecodeError<DeleteAccountRequest>(truncated), WireErrc::kMalformed);
}

// ---- Key requests ------------------------------------------------------------------

TEST(DecodeUploadKeysRequest, Errors) {
  ExpectSingular<UploadKeysRequest>({1});
  ExpectNestedMalformed<UploadKeysRequest>(1);
  ExpectNestedMalformed<UploadKeysRequest>(2);
  EXPECT_EQ(DecodeError<UploadKeysRequest>({}), WireErrc::kMissingField);
  EXPECT_EQ(EncodeError(UploadKeysRequest{}), WireErrc::kMissingField);
  UploadKeysRequest duplicate = Sample<UploadKeysRequest>();
  duplicate.prekeys.push_back(duplicate.prekeys.front());
  EXPECT_EQ(EncodeError(duplicate), WireErrc::kDuplicateEntry);
}

TEST(DecodeGetBundlesRequest, Errors) {
  ExpectSingular<GetBundlesRequest>({1, 3});
  ExpectFixedSize<GetBundlesRequest>(1);
  ExpectWireType<GetBundlesRequest>(3, true);
  const Buffer by_account = Encoded(Sample<GetBundlesRequest>());
  EXPECT_EQ(DecodeError<GetBundlesRequest>(WithoutField(by_account, 1)), WireErrc::kMissingField);
  EXPECT_EQ(DecodeError<GetBundlesRequest>(Concat(by_account, BytesField(2, Text("carol")))),
            WireErrc::kInconsistentFields);
  const Buffer by_username = Encoded(GetBundlesRequest{std::string("carol"), std::nullopt});
  EXPECT_EQ(DecodeError<GetBundlesRequest>(WithFieldTwice(by_username, 2)), WireErrc::kDuplicateField);
  EXPECT_EQ(DecodeError<GetBundlesRequest>(EditField(by_username, 2, [](Bytes) { return Text("c d"); })),
            WireErrc::kInvalidText);
}

TEST(DecodeLookupUsernameRequest, Errors) {
  ExpectRequired<LookupUsernameRequest>({1});
  ExpectSingular<LookupUsernameRequest>({1});
  ExpectWireType<LookupUsernameRequest>(1, false);
  ExpectText<LookupUsernameRequest>(1, "carol c");
  ExpectText<LookupUsernameRequest>(1, "");
}

TEST(DecodeUsernameLookupResult, Errors) {
  ExpectRequired<UsernameLookupResult>({1});
  ExpectSingular<UsernameLookupResult>({1});
  ExpectFixedSize<UsernameLookupResult>(1);
}

TEST(DecodeGetIdentityKeysRequest, Errors) {
  ExpectSingular<GetIdentityKeysRequest>({1, 3});
  ExpectFixedSize<GetIdentityKeysRequest>(1);
  ExpectWireType<GetIdentityKeysRequest>(1, false);
  ExpectWireType<GetIdentityKeysRequest>(3, true);
  const Buffer by_account = Encoded(Sample<GetIdentityKeysRequest>());
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>(WithoutField(by_account, 1)), WireErrc::kMissingField);
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>({}), WireErrc::kMissingField);
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>(Concat(by_account, BytesField(2, Text("carol")))),
            WireErrc::kInconsistentFields);
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>(ReplaceField(by_account, 3, VarintField(3, 0))),
            WireErrc::kOutOfRange);
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>(ReplaceField(by_account, 3, VarintField(3, 1ull << 32))),
            WireErrc::kOutOfRange);
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>(Buffer{0x0A}), WireErrc::kMalformed);
  const Buffer by_username = Encoded(GetIdentityKeysRequest{std::string("carol"), std::nullopt});
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>(WithFieldTwice(by_username, 2)), WireErrc::kDuplicateField);
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>(ReplaceField(by_username, 2, VarintField(2, 1))),
            WireErrc::kWrongWireType);
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>(EditField(by_username, 2, [](Bytes) { return Text("c d"); })),
            WireErrc::kInvalidText);
  EXPECT_EQ(DecodeError<GetIdentityKeysRequest>(EditField(by_username, 2, [](Bytes) { return Text("c"); })),
            WireErrc::kInvalidText);
  GetIdentityKeysRequest bad_name{std::string("c d"), std::nullopt};
  EXPECT_EQ(EncodeError(bad_name), WireErrc::kInvalidText);
  GetIdentityKeysRequest bad_device = Sample<GetIdentityKeysRequest>();
  bad_device.device_id = DeviceId(0);
  EXPECT_EQ(EncodeError(bad_device), WireErrc::kOutOfRange);
}

TEST(DecodeDeviceIdentity, Errors) {
  ExpectRequired<DeviceIdentity>({1, 2});
  ExpectSingular<DeviceIdentity>({1, 2});
  ExpectWireType<DeviceIdentity>(1, true);
  ExpectWireType<DeviceIdentity>(2, false);
  ExpectPublicKey<DeviceIdentity>(2);
  const Buffer encoded = Encoded(Sample<DeviceIdentity>());
  EXPECT_EQ(DecodeError<DeviceIdentity>(ReplaceField(encoded, 1, VarintField(1, 0))), WireErrc::kOutOfRange);
  EXPECT_EQ(DecodeError<DeviceIdentity>(ReplaceField(encoded, 1, VarintField(1, 1ull << 32))),
            WireErrc::kOutOfRange);
  EXPECT_EQ(DecodeError<DeviceIdentity>(Buffer(encoded.begin(), encoded.end() - 1)), WireErrc::kMalformed);
}

TEST(DecodeIdentityKeysResult, Errors) {
  ExpectRequired<IdentityKeysResult>({1, 2});
  ExpectSingular<IdentityKeysResult>({1});
  ExpectFixedSize<IdentityKeysResult>(1);
  ExpectWireType<IdentityKeysResult>(1, false);
  ExpectWireType<IdentityKeysResult>(2, false);
  ExpectNestedMalformed<IdentityKeysResult>(2);
  const Buffer encoded = Encoded(Sample<IdentityKeysResult>());
  const Buffer first = BytesField(2, Encoded(Sample<IdentityKeysResult>().devices[0]));
  EXPECT_EQ(DecodeError<IdentityKeysResult>(Concat(encoded, first)), WireErrc::kDuplicateEntry);
  const Buffer bad_key = BytesField(2, EditField(Encoded(Sample<DeviceIdentity>()), 2, [](Bytes key) {
                                      Buffer out(key.begin(), key.end());
                                      out[0] = 0x06;
                                      return out;
                                    }));
  EXPECT_EQ(DecodeError<IdentityKeysResult>(Concat(WithoutField(encoded, 2), bad_key)),
            WireErrc::kBadKeyType);
  IdentityKeysResult duplicate = Sample<IdentityKeysResult>();
  duplicate.devices.push_back(duplicate.devices.front());
  EXPECT_EQ(EncodeError(duplicate), WireErrc::kDuplicateEntry);
  IdentityKeysResult empty = Sample<IdentityKeysResult>();
  empty.devices.clear();
  EXPECT_EQ(EncodeError(empty), WireErrc::kMissingField);
}

// ---- Sends ------------------------------------------------------------------------------

TEST(DecodeOutgoingMessage, Errors) {
  ExpectRequired<OutgoingMessage>({1, 2, 3, 4});
  ExpectSingular<OutgoingMessage>({1, 2, 3, 4});
  ExpectWireType<OutgoingMessage>(3, true);
  ExpectWireType<OutgoingMessage>(4, false);
  const Buffer encoded = Encoded(Sample<OutgoingMessage>());
  EXPECT_EQ(DecodeError<OutgoingMessage>(EditField(encoded, 4, [](Bytes) { return Buffer{}; })),
            WireErrc::kMissingField);
}

TEST(DecodeSendMessagesRequest, Errors) {
  ExpectRequired<SendMessagesRequest>({1, 2, 3});
  ExpectSingular<SendMessagesRequest>({1, 2, 4});
  ExpectFixedSize<SendMessagesRequest>(1);
  ExpectFixedSize<SendMessagesRequest>(2);
  ExpectWireType<SendMessagesRequest>(4, true);
  ExpectNestedMalformed<SendMessagesRequest>(3);
  const Buffer encoded = Encoded(Sample<SendMessagesRequest>());
  EXPECT_EQ(DecodeError<SendMessagesRequest>(ReplaceField(encoded, 4, VarintField(4, 2))),
            WireErrc::kOutOfRange);
  const Buffer first = BytesField(3, Encoded(Sample<SendMessagesRequest>().messages[0]));
  EXPECT_EQ(DecodeError<SendMessagesRequest>(Concat(encoded, first)), WireErrc::kDuplicateEntry);
}

TEST(DecodeRecipientMessages, Errors) {
  ExpectRequired<RecipientMessages>({1, 2, 3});
  ExpectSingular<RecipientMessages>({1, 2});
  ExpectFixedSize<RecipientMessages>(1);
  ExpectNestedMalformed<RecipientMessages>(3);
}

TEST(DecodeSendMultiRecipientRequest, Errors) {
  ExpectRequired<SendMultiRecipientRequest>({1});
  ExpectNestedMalformed<SendMultiRecipientRequest>(1);
  const Buffer encoded = Encoded(Sample<SendMultiRecipientRequest>());
  EXPECT_EQ(DecodeError<SendMultiRecipientRequest>(WithFieldTwice(encoded, 1)), WireErrc::kDuplicateEntry);
}

// ---- Results ----------------------------------------------------------------------------

TEST(DecodeRegisterResult, Errors) {
  ExpectRequired<RegisterResult>({1, 2, 3});
  ExpectSingular<RegisterResult>({1, 2, 3});
  ExpectFixedSize<RegisterResult>(1);
  ExpectFixedSize<RegisterResult>(3);
}

TEST(DecodeLinkDeviceResult, Errors) {
  ExpectRequired<LinkDeviceResult>({1, 2, 3});
  ExpectSingular<LinkDeviceResult>({1, 2, 3});
  ExpectFixedSize<LinkDeviceResult>(3);
}

TEST(DecodeCreateLinkCodeResult, Errors) {
  ExpectRequired<CreateLinkCodeResult>({1, 2});
  ExpectSingular<CreateLinkCodeResult>({1, 2});
  ExpectWireType<CreateLinkCodeResult>(2, true);
  ExpectText<CreateLinkCodeResult>(1, "MFRGGZDFMZTWQ2LKNNWG23TPO=");
}

TEST(DecodeDeviceInfo, Errors) {
  ExpectRequired<DeviceInfo>({1, 3, 4});
  ExpectSingular<DeviceInfo>({1, 2, 3, 4});
  ExpectText<DeviceInfo>(2, "\xFF");
}

TEST(DecodeListDevicesResult, Errors) {
  ExpectRequired<ListDevicesResult>({1});
  ExpectNestedMalformed<ListDevicesResult>(1);
  EXPECT_EQ(DecodeError<ListDevicesResult>(WithFieldTwice(Encoded(Sample<ListDevicesResult>()), 1)),
            WireErrc::kDuplicateEntry);
}

TEST(DecodePreKeyCountResult, Errors) {
  ExpectRequired<PreKeyCountResult>({1});
  ExpectSingular<PreKeyCountResult>({1});
  ExpectWireType<PreKeyCountResult>(1, true);
}

TEST(DecodeDeviceBundle, Errors) {
  ExpectRequired<DeviceBundle>({1, 2, 3, 4});
  ExpectSingular<DeviceBundle>({1, 2, 3, 4, 5});
  ExpectPublicKey<DeviceBundle>(3);
  ExpectNestedMalformed<DeviceBundle>(4);
  ExpectNestedMalformed<DeviceBundle>(5);
}

TEST(DecodeBundlesResult, Errors) {
  ExpectRequired<BundlesResult>({1, 2});
  ExpectSingular<BundlesResult>({1});
  ExpectFixedSize<BundlesResult>(1);
  ExpectNestedMalformed<BundlesResult>(2);
  const Buffer encoded = Encoded(Sample<BundlesResult>());
  const Buffer first = BytesField(2, Encoded(Sample<BundlesResult>().devices[0]));
  EXPECT_EQ(DecodeError<BundlesResult>(Concat(encoded, first)), WireErrc::kDuplicateEntry);
}

TEST(DecodeSendResult, Errors) {
  ExpectRequired<SendResult>({1});
  ExpectSingular<SendResult>({1});
  ExpectWireType<SendResult>(1, true);
}

TEST(DecodeMismatchedDevices, Errors) {
  EXPECT_EQ(DecodeError<MismatchedDevices>({}), WireErrc::kMissingField);
  EXPECT_EQ(EncodeError(MismatchedDevices{}), WireErrc::kMissingField);
  // A device in two lists, or twice in one.
  EXPECT_EQ(DecodeError<MismatchedDevices>(Concat(VarintField(1, 2), VarintField(2, 2))),
            WireErrc::kDuplicateEntry);
  EXPECT_EQ(DecodeError<MismatchedDevices>(BytesField(3, Buffer{4, 4})), WireErrc::kDuplicateEntry);
  // A packed list that ends inside a varint.
  EXPECT_EQ(DecodeError<MismatchedDevices>(BytesField(1, Buffer{2, 0x80})), WireErrc::kMalformed);
  EXPECT_EQ(DecodeError<MismatchedDevices>(VarintField(1, 0)), WireErrc::kOutOfRange);
  EXPECT_EQ(DecodeError<MismatchedDevices>(VarintField(2, kMaxDeviceId + 1)), WireErrc::kOutOfRange);
  EXPECT_EQ(DecodeError<MismatchedDevices>(VarintField(2, 1ull << 32)), WireErrc::kOutOfRange);
  EXPECT_EQ(DecodeError<MismatchedDevices>(
                ReplaceField(Encoded(Sample<MismatchedDevices>()), 1,
                             Concat(BytesField(1, Buffer{5}), BytesField(1, Buffer{1})))),
            WireErrc::kDuplicateEntry);
}

TEST(DecodeMismatchedDevices, AcceptsUnpackedAndSplitLists) {
  // Protobuf readers accept repeated scalars unpacked, or packed in several runs.
  const Buffer unpacked = Concat(Concat(VarintField(1, 2), VarintField(1, 3)), VarintField(3, 4));
  const auto decoded = DecodeMessage<MismatchedDevices>(unpacked);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, (MismatchedDevices{{DeviceId(2), DeviceId(3)}, {}, {DeviceId(4)}}));
  const Buffer split = Concat(BytesField(1, Buffer{2}), Concat(VarintField(1, 3), BytesField(3, Buffer{4})));
  const auto split_decoded = DecodeMessage<MismatchedDevices>(split);
  ASSERT_TRUE(split_decoded);
  EXPECT_EQ(*split_decoded, *decoded);
}

TEST(DecodeRecipientResult, Errors) {
  ExpectRequired<RecipientResult>({1, 2});
  ExpectSingular<RecipientResult>({1, 2, 3});
  ExpectFixedSize<RecipientResult>(1);
  ExpectNestedMalformed<RecipientResult>(3);
  const AccountId who = testing::SampleAccount(1);
  EXPECT_EQ(EncodeError(RecipientResult{who, ResponseStatus::kMismatchedDevices, std::nullopt, std::nullopt}),
            WireErrc::kInconsistentFields);
  EXPECT_EQ(EncodeError(RecipientResult{who, ResponseStatus::kOk, Sample<MismatchedDevices>(), std::nullopt}),
            WireErrc::kInconsistentFields);
  EXPECT_EQ(EncodeError(RecipientResult{who, ResponseStatus::kOk, std::nullopt, 5}),
            WireErrc::kInconsistentFields);
  EXPECT_EQ(EncodeError(RecipientResult{who, ResponseStatus::kRateLimited, std::nullopt, std::nullopt}),
            WireErrc::kMissingField);
  EXPECT_EQ(EncodeError(RecipientResult{who, ResponseStatus::kQueueFull, std::nullopt, std::nullopt, 9}),
            WireErrc::kInconsistentFields);
  EXPECT_EQ(DecodeError<RecipientResult>(Concat(Encoded(Sample<RecipientResult>()), VarintField(5, 9))),
            WireErrc::kInconsistentFields);
  const Buffer sent_to = Encoded(RecipientResult{who, ResponseStatus::kOk, std::nullopt, std::nullopt, 9});
  EXPECT_EQ(DecodeError<RecipientResult>(WithFieldTwice(sent_to, 5)), WireErrc::kDuplicateField);
  EXPECT_EQ(DecodeError<RecipientResult>(ReplaceField(sent_to, 5, BytesField(5, Bytes1(1)))),
            WireErrc::kWrongWireType);
  const Buffer encoded = Encoded(Sample<RecipientResult>());
  EXPECT_EQ(DecodeError<RecipientResult>(WithoutField(encoded, 3)), WireErrc::kInconsistentFields);
  EXPECT_EQ(DecodeError<RecipientResult>(ReplaceField(encoded, 2, VarintField(2, 5))),
            WireErrc::kInconsistentFields);
  EXPECT_EQ(DecodeError<RecipientResult>(ReplaceField(encoded, 2, VarintField(2, 0))),
            WireErrc::kUnknownEnumValue);
}

TEST(DecodeSendMultiRecipientResult, Errors) {
  ExpectRequired<SendMultiRecipientResult>({1, 2});
  ExpectSingular<SendMultiRecipientResult>({1});
  ExpectNestedMalformed<SendMultiRecipientResult>(2);
  EXPECT_EQ(
      DecodeError<SendMultiRecipientResult>(WithFieldTwice(Encoded(Sample<SendMultiRecipientResult>()), 2)),
      WireErrc::kDuplicateEntry);
}

// ---- Pushes ----------------------------------------------------------------------------

TEST(DecodeEnvelope, Errors) {
  ExpectRequired<Envelope>({1, 2, 3, 4, 5, 6, 7});
  ExpectSingular<Envelope>({1, 2, 3, 4, 5, 6, 7});
  ExpectWireType<Envelope>(1, true);
  ExpectWireType<Envelope>(7, false);
  ExpectFixedSize<Envelope>(3);
  ExpectFixedSize<Envelope>(6);
  const Buffer encoded = Encoded(Sample<Envelope>());
  EXPECT_EQ(DecodeError<Envelope>(EditField(encoded, 7, [](Bytes) { return Buffer{}; })),
            WireErrc::kMissingField);
}

TEST(DecodePreKeysLow, Errors) {
  ExpectRequired<PreKeysLow>({1});
  ExpectSingular<PreKeysLow>({1});
  ExpectWireType<PreKeysLow>(1, true);
}

// ---- Requests by id ---------------------------------------------------------------------

TEST(PeekRequestId, FindsTheIdOfARequestThatDoesNotDecode) {
  Request request = Sample<Request>();
  request.id = 4242;
  const Buffer frame = *EncodeFrame(request);
  const Buffer broken = EditField(frame, 1, [](Bytes r) { return EditField(r, 30, AppendKey); });
  ASSERT_FALSE(DecodeFrame(broken));
  EXPECT_EQ(PeekRequestId(broken), 4242u);
  EXPECT_EQ(PeekRequestId(frame), 4242u);
}

TEST(PeekRequestId, NothingForOtherFramesOrGarbage) {
  EXPECT_EQ(PeekRequestId(*EncodeFrame(Sample<Response>())), std::nullopt);
  EXPECT_EQ(PeekRequestId(*EncodeFrame(Sample<PushAck>())), std::nullopt);
  EXPECT_EQ(PeekRequestId(Buffer{0xFF, 0xFF}), std::nullopt);
  EXPECT_EQ(PeekRequestId(BytesField(1, VarintField(2, 3))), std::nullopt);
  EXPECT_EQ(PeekRequestId({}), std::nullopt);
}

// ---- Validate on its own ------------------------------------------------------------------

TEST(Validate, AgreesWithTheDecoderOnSamples) {
  for (const auto& [name, frame] : testing::SampleFrames()) {
    EXPECT_TRUE(Validate(frame)) << name;
  }
  PublicKeyBytes bad_key = testing::SampleKey(1);
  bad_key[0] = 0;
  RegisterRequest r = Sample<RegisterRequest>();
  r.identity_key = bad_key;
  EXPECT_EQ(Validate(Frame(Request{1, r})).error().code, WireErrc::kBadKeyType);
}

}  // namespace
}  // namespace parley::wire
