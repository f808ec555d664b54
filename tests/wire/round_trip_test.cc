// Every message type and every frame kind: encode, decode, compare; plus the
// properties every decoder shares (truncation, unknown fields, groups).
#include <gtest/gtest.h>

#include "field_surgery.h"
#include "samples.h"
#include "wire/codec.h"

namespace parley::wire {
namespace {

using testing::Buffer;
using testing::Sample;

template <class T>
class MessageCodec : public ::testing::Test {};

using MessageTypes =
    ::testing::Types<SignedPreKey, OneTimePreKey, RegisterRequest, AuthenticateRequest, CreateLinkCodeRequest,
                     LinkDeviceRequest, ListDevicesRequest, UnlinkDeviceRequest, SetUsernameRequest,
                     DeleteAccountRequest, UploadKeysRequest, GetPreKeyCountRequest, GetBundlesRequest,
                     LookupUsernameRequest, UsernameLookupResult, GetIdentityKeysRequest, DeviceIdentity,
                     IdentityKeysResult, OutgoingMessage, SendMessagesRequest, RecipientMessages,
                     SendMultiRecipientRequest, PingRequest, Request, RegisterResult, LinkDeviceResult,
                     CreateLinkCodeResult, DeviceInfo, ListDevicesResult, PreKeyCountResult, DeviceBundle,
                     BundlesResult, SendResult, MismatchedDevices, RecipientResult, SendMultiRecipientResult,
                     Response, Envelope, QueueEmpty, PreKeysLow, Push, PushAck>;
TYPED_TEST_SUITE(MessageCodec, MessageTypes);

TYPED_TEST(MessageCodec, RoundTrips) {
  const TypeParam sample = Sample<TypeParam>();
  const auto encoded = EncodeMessage(sample);
  ASSERT_TRUE(encoded) << encoded.error().message;
  const auto decoded = DecodeMessage<TypeParam>(*encoded);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, sample);
  const auto again = EncodeMessage(*decoded);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *encoded);
}

TYPED_TEST(MessageCodec, EncodingIsReservedExactly) {
  const auto encoded = EncodeMessage(Sample<TypeParam>());
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->capacity(), encoded->size());
}

// A prefix that ends inside a field is malformed; one that ends between
// fields either misses something or is a different message.
TYPED_TEST(MessageCodec, EveryTruncationFailsOrDiffers) {
  const TypeParam sample = Sample<TypeParam>();
  const Buffer encoded = *EncodeMessage(sample);
  std::vector<std::size_t> boundaries = {0};
  for (const ProtoField& f : testing::FieldsOf(encoded)) {
    boundaries.push_back(boundaries.back() + testing::EncodeField(f).size());
  }
  ASSERT_EQ(boundaries.back(), encoded.size());
  for (std::size_t length = 0; length < encoded.size(); ++length) {
    const auto decoded = DecodeMessage<TypeParam>(Bytes(encoded).first(length));
    const bool at_boundary = std::find(boundaries.begin(), boundaries.end(), length) != boundaries.end();
    if (!at_boundary) {
      ASSERT_FALSE(decoded) << "prefix " << length;
      EXPECT_EQ(decoded.error().code, WireErrc::kMalformed) << "prefix " << length;
    } else if (decoded) {
      EXPECT_NE(*decoded, sample) << "prefix " << length;
    }
  }
}

TYPED_TEST(MessageCodec, SkipsUnknownFieldsOfEveryWireType) {
  const TypeParam sample = Sample<TypeParam>();
  Buffer encoded = *EncodeMessage(sample);
  ByteWriter unknown;
  WriteVarintField(unknown, 1000, 5);
  WriteBytesField(unknown, 1001, std::vector<std::uint8_t>{1, 2, 3});
  WriteFixed64Field(unknown, 1002, 7);
  unknown.WriteVarint((1003u << 3) | 5);
  unknown.WriteU32BE(9);
  WriteVarintField(unknown, 1000, 6);  // unknown fields may repeat
  const Buffer with_unknown = testing::Concat(unknown.bytes(), encoded);
  const auto decoded = DecodeMessage<TypeParam>(with_unknown);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, sample);
}

TYPED_TEST(MessageCodec, RejectsGroups) {
  const Buffer encoded = *EncodeMessage(Sample<TypeParam>());
  for (std::uint8_t group_key : {0x5B, 0x5C}) {  // field 11, wire types 3 (start group) and 4 (end group)
    const auto decoded =
        DecodeMessage<TypeParam>(testing::Concat(encoded, std::vector<std::uint8_t>{group_key}));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code, WireErrc::kMalformed);
  }
}

TEST(FrameCodec, EverySampleFrameRoundTrips) {
  for (const auto& [name, frame] : testing::SampleFrames()) {
    SCOPED_TRACE(name);
    const auto encoded = EncodeFrame(frame);
    ASSERT_TRUE(encoded) << encoded.error().message;
    EXPECT_EQ(encoded->capacity(), encoded->size());
    const auto decoded = DecodeFrame(*encoded);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, frame);
    EXPECT_EQ(*EncodeFrame(*decoded), *encoded);
  }
}

TEST(FrameCodec, KindOverloadsEncodeLikeTheFrame) {
  const Request request = Sample<Request>();
  const Response response = Sample<Response>();
  const Push push = Sample<Push>();
  const PushAck ack = Sample<PushAck>();
  EXPECT_EQ(*EncodeFrame(request), *EncodeFrame(Frame(request)));
  EXPECT_EQ(*EncodeFrame(response), *EncodeFrame(Frame(response)));
  EXPECT_EQ(*EncodeFrame(push), *EncodeFrame(Frame(push)));
  EXPECT_EQ(*EncodeFrame(ack), *EncodeFrame(Frame(ack)));
}

TEST(FrameCodec, FrameIsItsKindAsField) {
  // Frame { request = 1 }: key 0x0A, the length, then the Request.
  const Request request = Sample<Request>();
  const Buffer frame = *EncodeFrame(request);
  const Buffer message = *EncodeMessage(request);
  EXPECT_EQ(frame, testing::BytesField(1, message));
}

TEST(FrameCodec, ClientAndServerDirections) {
  for (const auto& [name, frame] : testing::SampleFrames()) {
    SCOPED_TRACE(name);
    const Buffer encoded = *EncodeFrame(frame);
    const bool from_client = std::holds_alternative<Request>(frame) || std::holds_alternative<PushAck>(frame);
    const auto as_client = DecodeClientFrame(encoded);
    const auto as_server = DecodeServerFrame(encoded);
    ASSERT_EQ(as_client.has_value(), from_client);
    ASSERT_EQ(as_server.has_value(), !from_client);
    if (from_client) {
      EXPECT_EQ(as_server.error().code, WireErrc::kWrongDirection);
      std::visit([&](const auto& kind) { EXPECT_EQ(Frame(kind), frame); }, *as_client);
    } else {
      EXPECT_EQ(as_client.error().code, WireErrc::kWrongDirection);
      std::visit([&](const auto& kind) { EXPECT_EQ(Frame(kind), frame); }, *as_server);
    }
  }
}

}  // namespace
}  // namespace parley::wire
