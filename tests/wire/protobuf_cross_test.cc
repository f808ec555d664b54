// docs/wire.proto against the hand-written codecs, with libprotobuf as the
// independent reader and writer:
// - libprotobuf parses every encoding of ours (all required fields present,
//   no field it does not know) and writes back exactly the same bytes;
// - our decoder reads messages built with libprotobuf's generated classes;
// - the schema's labels drive structural error cases for every message: a
//   missing required field, a singular field twice, a field with the wrong
//   wire type, garbage inside a nested message.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <cctype>
#include <memory>
#include <set>
#include <string>

#include "expect.h"
#include "samples.h"
#include "wire.pb.h"
#include "wire/codec.h"
#include "wire/message_list.h"

namespace parley::wire {
namespace {

namespace pb = google::protobuf;
using testing::Buffer;
using testing::Sample;

std::string AsString(const Buffer& b) { return std::string(b.begin(), b.end()); }
Buffer AsBuffer(const std::string& s) { return Buffer(s.begin(), s.end()); }

bool HasUnknownFields(const pb::Message& m) {
  const pb::Reflection* r = m.GetReflection();
  if (!r->GetUnknownFields(m).empty()) return true;
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        if (HasUnknownFields(r->GetRepeatedMessage(m, f, i))) return true;
      }
    } else if (HasUnknownFields(r->GetMessage(m, f))) {
      return true;
    }
  }
  return false;
}

std::unique_ptr<pb::Message> NewMessage(const std::string& name) {
  const pb::Descriptor* d =
      pb::DescriptorPool::generated_pool()->FindMessageTypeByName("parley.wire.v1." + name);
  if (d == nullptr) return nullptr;
  return std::unique_ptr<pb::Message>(pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
}

// libprotobuf parses `bytes` as message `name`, knows every field, and
// serializes it back to the same bytes.
void ExpectLibprotobufAgrees(const std::string& name, const Buffer& bytes) {
  SCOPED_TRACE(name);
  std::unique_ptr<pb::Message> m = NewMessage(name);
  ASSERT_NE(m, nullptr) << "docs/wire.proto has no message " << name;
  ASSERT_TRUE(m->ParseFromString(AsString(bytes))) << m->InitializationErrorString();
  EXPECT_TRUE(m->IsInitialized());
  EXPECT_FALSE(HasUnknownFields(*m));
  EXPECT_EQ(AsBuffer(m->SerializeAsString()), bytes);
}

// One entry per message type: its name in docs/wire.proto (the same as the
// C++ name), its sample's encoding, and a decoder returning the error code.
struct MessageCase {
  std::string name;
  Buffer sample;
  std::optional<WireErrc> (*decode_error)(Bytes);
};

std::vector<MessageCase> AllMessages() {
  std::vector<MessageCase> cases;
#define PARLEY_WIRE_CASE(T) cases.push_back({#T, testing::Encoded(Sample<T>()), &testing::DecodeError<T>});
  PARLEY_WIRE_MESSAGES(PARLEY_WIRE_CASE)
#undef PARLEY_WIRE_CASE
  return cases;
}

TEST(WireProto, LibprotobufReadsAndRewritesEveryMessageType) {
  for (const MessageCase& c : AllMessages()) ExpectLibprotobufAgrees(c.name, c.sample);
}

TEST(WireProto, LibprotobufReadsAndRewritesEverySampleFrame) {
  for (const auto& [name, frame] : testing::SampleFrames()) {
    SCOPED_TRACE(name);
    ExpectLibprotobufAgrees("Frame", *EncodeFrame(frame));
  }
}

TEST(WireProto, EveryMessageOfTheSchemaHasACodec) {
  const pb::FileDescriptor* file = v1::Frame::descriptor()->file();
  std::set<std::string> ours;
  for (const MessageCase& c : AllMessages()) ours.insert(c.name);
  ours.insert("Frame");
  for (int i = 0; i < file->message_type_count(); ++i) {
    EXPECT_EQ(ours.count(file->message_type(i)->name()), 1u) << file->message_type(i)->name();
  }
  EXPECT_EQ(static_cast<std::size_t>(file->message_type_count()), ours.size());
}

TEST(WireProto, StatusNumbersMatch) {
  const pb::EnumDescriptor* status = v1::Status_descriptor();
  for (std::uint32_t s = 1; s <= 13; ++s) {
    const pb::EnumValueDescriptor* value = status->FindValueByNumber(static_cast<int>(s));
    ASSERT_NE(value, nullptr);
    std::string expected(ResponseStatusName(static_cast<ResponseStatus>(s)));
    for (char& ch : expected) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_EQ(value->name(), expected);
  }
  EXPECT_EQ(status->value_count(), 14);  // and STATUS_UNSPECIFIED = 0
}

// ---- Structural error cases from the schema's labels -------------------------------

bool IsVarintType(const pb::FieldDescriptor* f) {
  switch (f->type()) {
    case pb::FieldDescriptor::TYPE_UINT32:
    case pb::FieldDescriptor::TYPE_UINT64:
    case pb::FieldDescriptor::TYPE_BOOL:
    case pb::FieldDescriptor::TYPE_ENUM:
      return true;
    default:
      return false;
  }
}

TEST(WireProto, EveryRequiredFieldIsRequired) {
  const pb::LogSilencer quiet;  // libprotobuf logs each refused parse
  for (const MessageCase& c : AllMessages()) {
    const pb::Descriptor* d = NewMessage(c.name)->GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (!f->is_required()) continue;
      const Buffer without = testing::WithoutField(c.sample, static_cast<std::uint32_t>(f->number()));
      EXPECT_EQ(c.decode_error(without), WireErrc::kMissingField) << c.name << "." << f->name();
      EXPECT_FALSE(NewMessage(c.name)->ParseFromString(AsString(without))) << c.name << "." << f->name();
    }
  }
}

TEST(WireProto, EverySingularFieldOnlyOnce) {
  for (const MessageCase& c : AllMessages()) {
    const pb::Descriptor* d = NewMessage(c.name)->GetDescriptor();
    for (const ProtoField& present : testing::FieldsOf(c.sample)) {
      const pb::FieldDescriptor* f = d->FindFieldByNumber(static_cast<int>(present.number));
      ASSERT_NE(f, nullptr) << c.name << " field " << present.number;
      if (f->is_repeated()) continue;
      const bool is_body = f->containing_oneof() != nullptr && f->containing_oneof()->name() == "body";
      EXPECT_EQ(c.decode_error(testing::WithFieldTwice(c.sample, present.number)),
                is_body ? WireErrc::kMultipleBodies : WireErrc::kDuplicateField)
          << c.name << "." << f->name();
    }
  }
}

TEST(WireProto, EveryFieldHasItsWireType) {
  for (const MessageCase& c : AllMessages()) {
    const pb::Descriptor* d = NewMessage(c.name)->GetDescriptor();
    for (const ProtoField& present : testing::FieldsOf(c.sample)) {
      const pb::FieldDescriptor* f = d->FindFieldByNumber(static_cast<int>(present.number));
      ASSERT_NE(f, nullptr);
      if (f->is_packed()) continue;  // packed lists are read in either form
      const Buffer wrong = IsVarintType(f) ? testing::BytesField(present.number, Buffer{1})
                                           : testing::VarintField(present.number, 1);
      EXPECT_EQ(c.decode_error(testing::ReplaceField(c.sample, present.number, wrong)),
                WireErrc::kWrongWireType)
          << c.name << "." << f->name();
    }
  }
}

TEST(WireProto, GarbageInsideEveryNestedMessage) {
  for (const MessageCase& c : AllMessages()) {
    const pb::Descriptor* d = NewMessage(c.name)->GetDescriptor();
    for (const ProtoField& present : testing::FieldsOf(c.sample)) {
      const pb::FieldDescriptor* f = d->FindFieldByNumber(static_cast<int>(present.number));
      if (f->type() != pb::FieldDescriptor::TYPE_MESSAGE) continue;
      const Buffer garbage = testing::EditField(c.sample, present.number, [](Bytes value) {
        return testing::Concat(value, Buffer{0x08});  // a key without its value
      });
      EXPECT_EQ(c.decode_error(garbage), WireErrc::kMalformed) << c.name << "." << f->name();
    }
  }
}

// ---- Messages built with libprotobuf, read by our decoder ---------------------------

std::string Repeat(std::size_t n, char c) { return std::string(n, c); }

std::string Key(char fill) { return "\x05" + Repeat(32, fill); }

AccountId AccountOf(char fill) {
  std::array<std::uint8_t, kAccountIdSize> bytes{};
  bytes.fill(static_cast<std::uint8_t>(fill));
  return AccountId(Uuid(bytes));
}

PublicKeyBytes KeyOf(char fill) {
  PublicKeyBytes key{};
  key.fill(static_cast<std::uint8_t>(fill));
  key[0] = 0x05;
  return key;
}

TEST(WireProto, ReadsAnEnvelopePushBuiltByLibprotobuf) {
  v1::Frame frame;
  v1::Push* push = frame.mutable_push();
  push->set_id(77);
  v1::Envelope* e = push->mutable_envelope();
  e->set_server_id(5);
  e->set_server_timestamp_ms(1'700'000'000'123);
  e->set_sender(Repeat(16, '\x11'));
  e->set_sender_device(3);
  e->set_type(1);
  e->set_client_message_id(Repeat(16, '\x22'));
  e->set_content("ciphertext");

  const auto decoded = DecodeServerFrame(AsBuffer(frame.SerializeAsString()));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ClientMessageId message_id{};
  message_id.fill(0x22);
  const std::string content = "ciphertext";
  const Push expected{77, Envelope{5, 1'700'000'000'123, AccountOf('\x11'), DeviceId(3), 1, message_id,
                                   std::vector<std::uint8_t>(content.begin(), content.end())}};
  EXPECT_EQ(std::get<Push>(*decoded), expected);
}

TEST(WireProto, ReadsARegisterRequestBuiltByLibprotobuf) {
  v1::Frame frame;
  v1::Request* request = frame.mutable_request();
  request->set_id(1);
  v1::RegisterRequest* r = request->mutable_register_account();
  r->set_username("dana");
  r->set_registration_id(4321);
  r->set_identity_key(Key('\x31'));
  r->mutable_signed_prekey()->set_id(9);
  r->mutable_signed_prekey()->set_public_key(Key('\x32'));
  r->mutable_signed_prekey()->set_signature(Repeat(64, '\x33'));
  for (std::uint32_t id : {100u, 101u}) {
    v1::OneTimePreKey* k = r->add_prekeys();
    k->set_id(id);
    k->set_public_key(Key(static_cast<char>(id)));
  }

  const auto decoded = DecodeClientFrame(AsBuffer(frame.SerializeAsString()));
  ASSERT_TRUE(decoded) << decoded.error().message;
  SignatureBytes signature{};
  signature.fill(0x33);
  RegisterRequest expected;
  expected.username = "dana";
  expected.registration_id = RegistrationId(4321);
  expected.identity_key = KeyOf('\x31');
  expected.signed_prekey = {SignedPreKeyId(9), KeyOf('\x32'), signature};
  expected.prekeys = {{PreKeyId(100), KeyOf(100)}, {PreKeyId(101), KeyOf(101)}};
  EXPECT_EQ(std::get<Request>(*decoded), (Request{1, expected}));
}

TEST(WireProto, ReadsASendBuiltByLibprotobuf) {
  v1::Request request;
  request.set_id(2);
  v1::SendMessagesRequest* s = request.mutable_send_messages();
  s->set_recipient(Repeat(16, '\x44'));
  s->set_client_message_id(Repeat(16, '\x55'));
  s->set_sync(true);
  for (std::uint32_t device : {1u, 4u}) {
    v1::OutgoingMessage* m = s->add_messages();
    m->set_device_id(device);
    m->set_registration_id(device * 10);
    m->set_type(2);
    m->set_content(Repeat(device, 'c'));
  }

  const auto decoded = DecodeMessage<Request>(AsBuffer(request.SerializeAsString()));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ClientMessageId message_id{};
  message_id.fill(0x55);
  const SendMessagesRequest expected{AccountOf('\x44'),
                                     message_id,
                                     {{DeviceId(1), RegistrationId(10), 2, {'c'}},
                                      {DeviceId(4), RegistrationId(40), 2, {'c', 'c', 'c', 'c'}}},
                                     true};
  EXPECT_EQ(*decoded, (Request{2, expected}));
}

TEST(WireProto, ReadsResponsesBuiltByLibprotobuf) {
  v1::Response mismatched;
  mismatched.set_id(3);
  mismatched.set_status(v1::MISMATCHED_DEVICES);
  mismatched.set_error_detail("mismatched devices");
  mismatched.mutable_mismatched_devices()->add_missing(2);
  mismatched.mutable_mismatched_devices()->add_missing(5);
  mismatched.mutable_mismatched_devices()->add_stale(1);
  const auto decoded_mismatched = DecodeMessage<Response>(AsBuffer(mismatched.SerializeAsString()));
  ASSERT_TRUE(decoded_mismatched) << decoded_mismatched.error().message;
  EXPECT_EQ(*decoded_mismatched,
            (Response{3, ResponseStatus::kMismatchedDevices, "mismatched devices", std::nullopt,
                      MismatchedDevices{{DeviceId(2), DeviceId(5)}, {}, {DeviceId(1)}}}));

  v1::Response bundles;
  bundles.set_id(4);
  bundles.set_status(v1::OK);
  v1::BundlesResult* b = bundles.mutable_bundles();
  b->set_account_id(Repeat(16, '\x66'));
  v1::DeviceBundle* d = b->add_devices();
  d->set_device_id(2);
  d->set_registration_id(16380);
  d->set_identity_key(Key('\x67'));
  d->mutable_signed_prekey()->set_id(0xFFFFFF);
  d->mutable_signed_prekey()->set_public_key(Key('\x68'));
  d->mutable_signed_prekey()->set_signature(Repeat(64, '\x69'));
  const auto decoded_bundles = DecodeMessage<Response>(AsBuffer(bundles.SerializeAsString()));
  ASSERT_TRUE(decoded_bundles) << decoded_bundles.error().message;
  SignatureBytes signature{};
  signature.fill(0x69);
  const DeviceBundle expected_bundle{DeviceId(2), RegistrationId(16380), KeyOf('\x67'),
                                     SignedPreKey{SignedPreKeyId(0xFFFFFF), KeyOf('\x68'), signature},
                                     std::nullopt};
  EXPECT_EQ(*decoded_bundles, (Response{4, ResponseStatus::kOk, "", std::nullopt,
                                        BundlesResult{AccountOf('\x66'), {expected_bundle}}}));

  v1::Response limited;
  limited.set_id(5);
  limited.set_status(v1::RATE_LIMITED);
  limited.set_retry_after_ms(2500);
  const auto decoded_limited = DecodeMessage<Response>(AsBuffer(limited.SerializeAsString()));
  ASSERT_TRUE(decoded_limited);
  EXPECT_EQ(*decoded_limited, (Response{5, ResponseStatus::kRateLimited, "", 2500, std::monostate{}}));
}

TEST(WireProto, ReadsAMultiRecipientResultBuiltByLibprotobuf) {
  v1::SendMultiRecipientResult result;
  result.set_server_timestamp_ms(9);
  v1::RecipientResult* ok = result.add_results();
  ok->set_recipient(Repeat(16, '\x01'));
  ok->set_status(v1::OK);
  ok->set_server_timestamp_ms(8);
  v1::RecipientResult* stale = result.add_results();
  stale->set_recipient(Repeat(16, '\x02'));
  stale->set_status(v1::MISMATCHED_DEVICES);
  stale->mutable_mismatched_devices()->add_extra(7);
  v1::RecipientResult* full = result.add_results();
  full->set_recipient(Repeat(16, '\x03'));
  full->set_status(v1::QUEUE_FULL);

  const auto decoded = DecodeMessage<SendMultiRecipientResult>(AsBuffer(result.SerializeAsString()));
  ASSERT_TRUE(decoded) << decoded.error().message;
  const SendMultiRecipientResult expected{
      9,
      {{AccountOf('\x01'), ResponseStatus::kOk, std::nullopt, std::nullopt, 8},
       {AccountOf('\x02'), ResponseStatus::kMismatchedDevices, MismatchedDevices{{}, {DeviceId(7)}, {}},
        std::nullopt},
       {AccountOf('\x03'), ResponseStatus::kQueueFull, std::nullopt, std::nullopt}}};
  EXPECT_EQ(*decoded, expected);
}

TEST(WireProto, ReadsAGetBundlesByUsernameAndAPushAckBuiltByLibprotobuf) {
  v1::Frame frame;
  frame.mutable_request()->set_id(6);
  frame.mutable_request()->mutable_get_bundles()->set_username("erin.e");
  const auto get = DecodeClientFrame(AsBuffer(frame.SerializeAsString()));
  ASSERT_TRUE(get);
  EXPECT_EQ(std::get<Request>(*get), (Request{6, GetBundlesRequest{std::string("erin.e"), std::nullopt}}));

  v1::Frame ack;
  ack.mutable_push_ack()->set_id(~std::uint64_t{0});
  const auto decoded_ack = DecodeClientFrame(AsBuffer(ack.SerializeAsString()));
  ASSERT_TRUE(decoded_ack);
  EXPECT_EQ(std::get<PushAck>(*decoded_ack), PushAck{~std::uint64_t{0}});
}

}  // namespace
}  // namespace parley::wire
