#include "wire/codec.h"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <span>
#include <string_view>
#include <type_traits>

#include "base/proto.h"
#include "wire/message_list.h"
#include "wire/try.h"
#include "wire/validate.h"

namespace parley::wire {
namespace {

using Buffer = std::vector<std::uint8_t>;

WireStatus Fine() { return Ok<WireErrc>(); }

// ---- Field numbers of the bodies (docs/wire.proto) ----------------------------
// Each body type is a member of exactly one oneof, so one number per type.

template <class T>
constexpr std::uint32_t kBodyField = 0;
template <>
constexpr std::uint32_t kBodyField<Request> = 1;
template <>
constexpr std::uint32_t kBodyField<Response> = 2;
template <>
constexpr std::uint32_t kBodyField<Push> = 3;
template <>
constexpr std::uint32_t kBodyField<PushAck> = 4;
template <>
constexpr std::uint32_t kBodyField<RegisterRequest> = 10;
template <>
constexpr std::uint32_t kBodyField<AuthenticateRequest> = 11;
template <>
constexpr std::uint32_t kBodyField<LinkDeviceRequest> = 12;
template <>
constexpr std::uint32_t kBodyField<CreateLinkCodeRequest> = 13;
template <>
constexpr std::uint32_t kBodyField<ListDevicesRequest> = 14;
template <>
constexpr std::uint32_t kBodyField<UnlinkDeviceRequest> = 15;
template <>
constexpr std::uint32_t kBodyField<SetUsernameRequest> = 16;
template <>
constexpr std::uint32_t kBodyField<DeleteAccountRequest> = 17;
template <>
constexpr std::uint32_t kBodyField<UploadKeysRequest> = 20;
template <>
constexpr std::uint32_t kBodyField<GetPreKeyCountRequest> = 21;
template <>
constexpr std::uint32_t kBodyField<GetBundlesRequest> = 22;
template <>
constexpr std::uint32_t kBodyField<LookupUsernameRequest> = 23;
template <>
constexpr std::uint32_t kBodyField<GetIdentityKeysRequest> = 24;
template <>
constexpr std::uint32_t kBodyField<SendMessagesRequest> = 30;
template <>
constexpr std::uint32_t kBodyField<SendMultiRecipientRequest> = 31;
template <>
constexpr std::uint32_t kBodyField<PingRequest> = 40;
template <>
constexpr std::uint32_t kBodyField<RegisterResult> = 10;
template <>
constexpr std::uint32_t kBodyField<LinkDeviceResult> = 12;
template <>
constexpr std::uint32_t kBodyField<CreateLinkCodeResult> = 13;
template <>
constexpr std::uint32_t kBodyField<ListDevicesResult> = 14;
template <>
constexpr std::uint32_t kBodyField<PreKeyCountResult> = 21;
template <>
constexpr std::uint32_t kBodyField<BundlesResult> = 22;
template <>
constexpr std::uint32_t kBodyField<UsernameLookupResult> = 23;
template <>
constexpr std::uint32_t kBodyField<IdentityKeysResult> = 24;
template <>
constexpr std::uint32_t kBodyField<SendResult> = 30;
template <>
constexpr std::uint32_t kBodyField<SendMultiRecipientResult> = 31;
template <>
constexpr std::uint32_t kBodyField<MismatchedDevices> = 32;
template <>
constexpr std::uint32_t kBodyField<Envelope> = 10;
template <>
constexpr std::uint32_t kBodyField<QueueEmpty> = 11;
template <>
constexpr std::uint32_t kBodyField<PreKeysLow> = 12;

#define WIRE_DECLARE(T)               \
  WireStatus Parse(Bytes in, T& out); \
  template <class Sink>               \
  void Encode(Sink& sink, const T& message);
PARLEY_WIRE_MESSAGES(WIRE_DECLARE)
#undef WIRE_DECLARE
WireStatus Parse(Bytes in, Frame& out);

// ---- Decoding: one loop per message -------------------------------------------

constexpr std::uint64_t Bit(std::uint32_t number) { return std::uint64_t{1} << number; }

// The known singular fields of a message (a second occurrence is an error)
// and which of them are required. Their numbers are below 64.
struct Layout {
  std::uint64_t singular = 0;
  std::uint64_t required = 0;
};

constexpr Layout Fields(std::initializer_list<std::uint32_t> singular,
                        std::initializer_list<std::uint32_t> required) {
  Layout layout;
  for (std::uint32_t n : singular) layout.singular |= Bit(n);
  for (std::uint32_t n : required) layout.required |= Bit(n);
  return layout;
}

// Walks the fields of one message, calling on_field for each; unknown fields
// are on_field's to skip (return Fine()).
template <class OnField>
WireStatus ParseFields(Bytes in, Layout layout, OnField&& on_field) {
  ProtoReader reader(in);
  ProtoField field;
  std::uint64_t seen = 0;
  while (reader.Next(field)) {
    if (field.number < 64 && (layout.singular & Bit(field.number)) != 0) {
      if ((seen & Bit(field.number)) != 0)
        return Fail(WireErrc::kDuplicateField, "a singular field appears twice");
      seen |= Bit(field.number);
    }
    WIRE_TRY(on_field(field));
  }
  if (reader.failed()) return Fail(WireErrc::kMalformed, "not protobuf wire format");
  if ((seen & layout.required) != layout.required)
    return Fail(WireErrc::kMissingField, "a required field is absent");
  return Fine();
}

WireStatus ParseEmpty(Bytes in) {
  return ParseFields(in, {}, [](const ProtoField&) { return Fine(); });
}

// Counts a repeated field before it is read: over `max` fails before any
// entry is allocated; otherwise the vector is reserved to its exact size.
template <class T>
WireStatus Reserve(Bytes in, std::uint32_t number, std::size_t max, std::vector<T>& out) {
  ProtoReader reader(in);
  ProtoField field;
  std::size_t count = 0;
  while (reader.Next(field)) {
    if (field.number == number && ++count > max) return Fail(WireErrc::kTooMany, "a list is over its cap");
  }
  out.reserve(count);
  return Fine();
}

WireStatus Expect(const ProtoField& f, WireType type) {
  if (f.type != type) return Fail(WireErrc::kWrongWireType, "a field has the wrong wire type");
  return Fine();
}

WireStatus Read(const ProtoField& f, std::uint64_t& out) {
  WIRE_TRY(Expect(f, WireType::kVarint));
  out = f.value;
  return Fine();
}

WireStatus Read(const ProtoField& f, std::optional<std::uint64_t>& out) { return Read(f, out.emplace()); }

WireStatus CheckU32(std::uint64_t value) {
  if (value > std::numeric_limits<std::uint32_t>::max())
    return Fail(WireErrc::kOutOfRange, "uint32 over 32 bits");
  return Fine();
}

WireStatus Read(const ProtoField& f, std::uint32_t& out) {
  WIRE_TRY(Expect(f, WireType::kVarint));
  WIRE_TRY(CheckU32(f.value));
  out = static_cast<std::uint32_t>(f.value);
  return Fine();
}

WireStatus Read(const ProtoField& f, std::optional<std::uint32_t>& out) { return Read(f, out.emplace()); }

template <class Tag>
WireStatus Read(const ProtoField& f, StrongId<Tag, std::uint32_t>& out) {
  std::uint32_t value = 0;
  WIRE_TRY(Read(f, value));
  out = StrongId<Tag, std::uint32_t>(value);
  return Fine();
}

template <class Tag>
WireStatus Read(const ProtoField& f, std::optional<StrongId<Tag, std::uint32_t>>& out) {
  return Read(f, out.emplace());
}

WireStatus Read(const ProtoField& f, bool& out) {
  WIRE_TRY(Expect(f, WireType::kVarint));
  if (f.value > 1) return Fail(WireErrc::kOutOfRange, "bool other than 0 or 1");
  out = f.value == 1;
  return Fine();
}

WireStatus Read(const ProtoField& f, ResponseStatus& out) {
  WIRE_TRY(Expect(f, WireType::kVarint));
  if (!IsKnownResponseStatus(f.value)) return Fail(WireErrc::kUnknownEnumValue, "unknown response status");
  out = static_cast<ResponseStatus>(f.value);
  return Fine();
}

WireStatus ExpectSize(const ProtoField& f, std::size_t size) {
  WIRE_TRY(Expect(f, WireType::kLengthDelimited));
  if (f.bytes.size() != size) return Fail(WireErrc::kBadLength, "a fixed-size field has another size");
  return Fine();
}

template <std::size_t N>
WireStatus Read(const ProtoField& f, std::array<std::uint8_t, N>& out) {
  WIRE_TRY(ExpectSize(f, N));
  std::copy(f.bytes.begin(), f.bytes.end(), out.begin());
  return Fine();
}

WireStatus Read(const ProtoField& f, AccountId& out) {
  std::array<std::uint8_t, kAccountIdSize> bytes{};
  WIRE_TRY(Read(f, bytes));
  out = AccountId(Uuid(bytes));
  return Fine();
}

WireStatus Read(const ProtoField& f, DeviceCredential& out) {
  WIRE_TRY(ExpectSize(f, kCredentialSize));
  out.secret = SecretArray<kCredentialSize>(f.bytes.first<kCredentialSize>());
  return Fine();
}

WireStatus ReadBytes(const ProtoField& f, std::size_t max, Buffer& out) {
  WIRE_TRY(Expect(f, WireType::kLengthDelimited));
  if (f.bytes.size() > max) return Fail(WireErrc::kTooLarge, "a byte field is over its cap");
  out.assign(f.bytes.begin(), f.bytes.end());
  return Fine();
}

WireStatus ReadText(const ProtoField& f, std::size_t max, std::string& out) {
  WIRE_TRY(Expect(f, WireType::kLengthDelimited));
  if (f.bytes.size() > max) return Fail(WireErrc::kTooLarge, "a string is over its cap");
  out.assign(f.bytes.begin(), f.bytes.end());
  return Fine();
}

WireStatus ReadText(const ProtoField& f, std::size_t max, std::optional<std::string>& out) {
  return ReadText(f, max, out.emplace());
}

template <class T>
WireStatus ReadMessage(const ProtoField& f, T& out) {
  WIRE_TRY(Expect(f, WireType::kLengthDelimited));
  return Parse(f.bytes, out);
}

template <class T>
WireStatus ReadMessage(const ProtoField& f, std::optional<T>& out) {
  return ReadMessage(f, out.emplace());
}

template <class T>
WireStatus ReadRepeated(const ProtoField& f, std::size_t max, std::vector<T>& out) {
  WIRE_TRY(Expect(f, WireType::kLengthDelimited));
  if (out.size() >= max) return Fail(WireErrc::kTooMany, "a list is over its cap");
  return Parse(f.bytes, out.emplace_back());
}

// A repeated uint32 either packed (one length-delimited run of varints, as
// this encoder writes it) or unpacked (one varint per field): protobuf
// readers accept both.
WireStatus ReadPackedIds(const ProtoField& f, std::size_t max, std::vector<DeviceId>& out) {
  const auto append = [&](std::uint64_t value) -> WireStatus {
    WIRE_TRY(CheckU32(value));
    if (out.size() >= max) return Fail(WireErrc::kTooMany, "a list is over its cap");
    out.emplace_back(static_cast<std::uint32_t>(value));
    return Fine();
  };
  if (f.type == WireType::kVarint) return append(f.value);
  WIRE_TRY(Expect(f, WireType::kLengthDelimited));
  ByteReader reader(f.bytes);
  while (!reader.empty()) {
    std::uint64_t value = 0;
    if (!reader.ReadVarint(value)) return Fail(WireErrc::kMalformed, "a packed list ends inside a varint");
    WIRE_TRY(append(value));
  }
  return Fine();
}

// One member of a oneof: the alternative of `body` whose field number is
// f.number, if any; a second member is kMultipleBodies.
template <class Variant, std::size_t I = 0>
WireStatus ReadBody(const ProtoField& f, bool& has_body, Variant& body) {
  if constexpr (I == std::variant_size_v<Variant>) {
    return Fine();
  } else {
    using Alternative = std::variant_alternative_t<I, Variant>;
    if constexpr (!std::is_same_v<Alternative, std::monostate>) {
      if (f.number == kBodyField<Alternative>) {
        if (has_body) return Fail(WireErrc::kMultipleBodies, "more than one body");
        has_body = true;
        return ReadMessage(f, body.template emplace<Alternative>());
      }
    }
    return ReadBody<Variant, I + 1>(f, has_body, body);
  }
}

WireStatus Parse(Bytes in, SignedPreKey& out) {
  return ParseFields(in, Fields({1, 2, 3}, {1, 2, 3}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.id);
      case 2:
        return Read(f, out.public_key);
      case 3:
        return Read(f, out.signature);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, OneTimePreKey& out) {
  return ParseFields(in, Fields({1, 2}, {1, 2}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.id);
      case 2:
        return Read(f, out.public_key);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, RegisterRequest& out) {
  WIRE_TRY(Reserve(in, 6, kMaxPreKeysPerUpload, out.prekeys));
  return ParseFields(in, Fields({1, 2, 3, 4, 5, 7}, {1, 3, 4, 5}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return ReadText(f, kMaxUsernameSize, out.username);
      case 2:
        return ReadText(f, kMaxInvitationTokenSize, out.invitation_token);
      case 3:
        return Read(f, out.registration_id);
      case 4:
        return Read(f, out.identity_key);
      case 5:
        return ReadMessage(f, out.signed_prekey);
      case 6:
        return ReadRepeated(f, kMaxPreKeysPerUpload, out.prekeys);
      case 7:
        return ReadText(f, kMaxDeviceNameSize, out.device_name);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, AuthenticateRequest& out) {
  return ParseFields(in, Fields({1, 2, 3, 4}, {1, 2, 3}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.account_id);
      case 2:
        return Read(f, out.device_id);
      case 3:
        return Read(f, out.credential);
      case 4:
        return Read(f, out.push_window);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, CreateLinkCodeRequest&) { return ParseEmpty(in); }

WireStatus Parse(Bytes in, LinkDeviceRequest& out) {
  WIRE_TRY(Reserve(in, 5, kMaxPreKeysPerUpload, out.prekeys));
  return ParseFields(in, Fields({1, 2, 3, 4, 6}, {1, 2, 3, 4, 6}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return ReadText(f, kMaxLinkCodeSize, out.code);
      case 2:
        return Read(f, out.registration_id);
      case 3:
        return Read(f, out.identity_key);
      case 4:
        return ReadMessage(f, out.signed_prekey);
      case 5:
        return ReadRepeated(f, kMaxPreKeysPerUpload, out.prekeys);
      case 6:
        return ReadText(f, kMaxDeviceNameSize, out.device_name);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, ListDevicesRequest&) { return ParseEmpty(in); }

WireStatus Parse(Bytes in, UnlinkDeviceRequest& out) {
  return ParseFields(in, Fields({1}, {1}),
                     [&](const ProtoField& f) { return f.number == 1 ? Read(f, out.device_id) : Fine(); });
}

WireStatus Parse(Bytes in, SetUsernameRequest& out) {
  return ParseFields(in, Fields({1}, {1}), [&](const ProtoField& f) {
    return f.number == 1 ? ReadText(f, kMaxUsernameSize, out.username) : Fine();
  });
}

WireStatus Parse(Bytes in, DeleteAccountRequest&) { return ParseEmpty(in); }

WireStatus Parse(Bytes in, LookupUsernameRequest& out) {
  return ParseFields(in, Fields({1}, {1}), [&](const ProtoField& f) {
    return f.number == 1 ? ReadText(f, kMaxUsernameSize, out.username) : Fine();
  });
}

WireStatus Parse(Bytes in, UploadKeysRequest& out) {
  WIRE_TRY(Reserve(in, 2, kMaxPreKeysPerUpload, out.prekeys));
  return ParseFields(in, Fields({1}, {}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return ReadMessage(f, out.signed_prekey);
      case 2:
        return ReadRepeated(f, kMaxPreKeysPerUpload, out.prekeys);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, GetPreKeyCountRequest&) { return ParseEmpty(in); }

// GetBundlesRequest and GetIdentityKeysRequest: exactly one of 1 account id
// or 2 username, then 3 an optional device id.
template <class KeyRequest>
WireStatus ParseKeyTarget(Bytes in, KeyRequest& out) {
  bool has_target = false;
  const auto target = [&]() -> WireStatus {
    if (has_target) return Fail(WireErrc::kInconsistentFields, "both an account id and a username");
    has_target = true;
    return Fine();
  };
  const WireStatus fields = ParseFields(in, Fields({1, 2, 3}, {}), [&](const ProtoField& f) -> WireStatus {
    switch (f.number) {
      case 1:
        WIRE_TRY(target());
        return Read(f, out.target.template emplace<AccountId>());
      case 2:
        WIRE_TRY(target());
        return ReadText(f, kMaxUsernameSize, out.target.template emplace<std::string>());
      case 3:
        return Read(f, out.device_id);
    }
    return Fine();
  });
  if (!fields) return fields;
  if (!has_target) return Fail(WireErrc::kMissingField, "neither an account id nor a username");
  return Fine();
}

WireStatus Parse(Bytes in, GetBundlesRequest& out) { return ParseKeyTarget(in, out); }

WireStatus Parse(Bytes in, GetIdentityKeysRequest& out) { return ParseKeyTarget(in, out); }

WireStatus Parse(Bytes in, OutgoingMessage& out) {
  return ParseFields(in, Fields({1, 2, 3, 4}, {1, 2, 3, 4}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.device_id);
      case 2:
        return Read(f, out.registration_id);
      case 3:
        return Read(f, out.type);
      case 4:
        return ReadBytes(f, kMaxContentSize, out.content);
    }
    return Fine();
  });
}

// SendMessagesRequest and RecipientMessages share fields 1-3.
template <class Messages>
WireStatus ParseRecipientMessages(Bytes in, Messages& out, Layout layout, bool* sync) {
  WIRE_TRY(Reserve(in, 3, kMaxMessagesPerSend, out.messages));
  return ParseFields(in, layout, [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.recipient);
      case 2:
        return Read(f, out.client_message_id);
      case 3:
        return ReadRepeated(f, kMaxMessagesPerSend, out.messages);
      case 4:
        if (sync != nullptr) return Read(f, *sync);
        break;
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, SendMessagesRequest& out) {
  return ParseRecipientMessages(in, out, Fields({1, 2, 4}, {1, 2}), &out.sync);
}

WireStatus Parse(Bytes in, RecipientMessages& out) {
  return ParseRecipientMessages(in, out, Fields({1, 2}, {1, 2}), nullptr);
}

WireStatus Parse(Bytes in, SendMultiRecipientRequest& out) {
  WIRE_TRY(Reserve(in, 1, kMaxRecipientsPerMultiSend, out.recipients));
  return ParseFields(in, {}, [&](const ProtoField& f) {
    return f.number == 1 ? ReadRepeated(f, kMaxRecipientsPerMultiSend, out.recipients) : Fine();
  });
}

WireStatus Parse(Bytes in, PingRequest&) { return ParseEmpty(in); }

WireStatus Parse(Bytes in, Request& out) {
  bool has_body = false;
  WIRE_TRY(ParseFields(in, Fields({1}, {1}), [&](const ProtoField& f) {
    return f.number == 1 ? Read(f, out.id) : ReadBody(f, has_body, out.body);
  }));
  if (!has_body) return Fail(WireErrc::kNoBody, "a request without a known body");
  return Fine();
}

// RegisterResult and LinkDeviceResult have the same fields.
template <class NewDevice>
WireStatus ParseNewDevice(Bytes in, NewDevice& out) {
  return ParseFields(in, Fields({1, 2, 3}, {1, 2, 3}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.account_id);
      case 2:
        return Read(f, out.device_id);
      case 3:
        return Read(f, out.credential);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, RegisterResult& out) { return ParseNewDevice(in, out); }

WireStatus Parse(Bytes in, LinkDeviceResult& out) { return ParseNewDevice(in, out); }

WireStatus Parse(Bytes in, CreateLinkCodeResult& out) {
  return ParseFields(in, Fields({1, 2}, {1, 2}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return ReadText(f, kMaxLinkCodeSize, out.code);
      case 2:
        return Read(f, out.expires_at_ms);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, DeviceInfo& out) {
  return ParseFields(in, Fields({1, 2, 3, 4}, {1, 3, 4}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.id);
      case 2:
        return ReadText(f, kMaxDeviceNameSize, out.name);
      case 3:
        return Read(f, out.created_at_ms);
      case 4:
        return Read(f, out.last_seen_at_ms);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, ListDevicesResult& out) {
  WIRE_TRY(Reserve(in, 1, kMaxDevicesPerAccount, out.devices));
  return ParseFields(in, {}, [&](const ProtoField& f) {
    return f.number == 1 ? ReadRepeated(f, kMaxDevicesPerAccount, out.devices) : Fine();
  });
}

WireStatus Parse(Bytes in, PreKeyCountResult& out) {
  return ParseFields(in, Fields({1}, {1}),
                     [&](const ProtoField& f) { return f.number == 1 ? Read(f, out.count) : Fine(); });
}

WireStatus Parse(Bytes in, DeviceBundle& out) {
  return ParseFields(in, Fields({1, 2, 3, 4, 5}, {1, 2, 3, 4}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.device_id);
      case 2:
        return Read(f, out.registration_id);
      case 3:
        return Read(f, out.identity_key);
      case 4:
        return ReadMessage(f, out.signed_prekey);
      case 5:
        return ReadMessage(f, out.prekey);
    }
    return Fine();
  });
}

// BundlesResult and IdentityKeysResult: 1 account id, 2 one entry per device.
template <class AccountDevices>
WireStatus ParseAccountDevices(Bytes in, AccountDevices& out) {
  WIRE_TRY(Reserve(in, 2, kMaxDevicesPerAccount, out.devices));
  return ParseFields(in, Fields({1}, {1}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.account_id);
      case 2:
        return ReadRepeated(f, kMaxDevicesPerAccount, out.devices);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, BundlesResult& out) { return ParseAccountDevices(in, out); }

WireStatus Parse(Bytes in, UsernameLookupResult& out) {
  return ParseFields(in, Fields({1}, {1}),
                     [&](const ProtoField& f) { return f.number == 1 ? Read(f, out.account_id) : Fine(); });
}

WireStatus Parse(Bytes in, DeviceIdentity& out) {
  return ParseFields(in, Fields({1, 2}, {1, 2}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.device_id);
      case 2:
        return Read(f, out.identity_key);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, IdentityKeysResult& out) { return ParseAccountDevices(in, out); }

WireStatus Parse(Bytes in, SendResult& out) {
  return ParseFields(in, Fields({1}, {1}), [&](const ProtoField& f) {
    return f.number == 1 ? Read(f, out.server_timestamp_ms) : Fine();
  });
}

WireStatus Parse(Bytes in, MismatchedDevices& out) {
  return ParseFields(in, {}, [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return ReadPackedIds(f, kMaxDevicesPerAccount, out.missing);
      case 2:
        return ReadPackedIds(f, kMaxDevicesPerAccount, out.extra);
      case 3:
        return ReadPackedIds(f, kMaxDevicesPerAccount, out.stale);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, RecipientResult& out) {
  return ParseFields(in, Fields({1, 2, 3, 4, 5}, {1, 2}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.recipient);
      case 2:
        return Read(f, out.status);
      case 3:
        return ReadMessage(f, out.mismatched_devices);
      case 4:
        return Read(f, out.retry_after_ms);
      case 5:
        return Read(f, out.server_timestamp_ms);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, SendMultiRecipientResult& out) {
  WIRE_TRY(Reserve(in, 2, kMaxRecipientsPerMultiSend, out.results));
  return ParseFields(in, Fields({1}, {1}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.server_timestamp_ms);
      case 2:
        return ReadRepeated(f, kMaxRecipientsPerMultiSend, out.results);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, Response& out) {
  bool has_body = false;
  return ParseFields(in, Fields({1, 2, 3, 4}, {1, 2}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.id);
      case 2:
        return Read(f, out.status);
      case 3:
        return ReadText(f, kMaxErrorDetailSize, out.error_detail);
      case 4:
        return Read(f, out.retry_after_ms);
    }
    return ReadBody(f, has_body, out.body);
  });
}

WireStatus Parse(Bytes in, Envelope& out) {
  return ParseFields(in, Fields({1, 2, 3, 4, 5, 6, 7}, {1, 2, 3, 4, 5, 6, 7}), [&](const ProtoField& f) {
    switch (f.number) {
      case 1:
        return Read(f, out.server_id);
      case 2:
        return Read(f, out.server_timestamp_ms);
      case 3:
        return Read(f, out.sender);
      case 4:
        return Read(f, out.sender_device);
      case 5:
        return Read(f, out.type);
      case 6:
        return Read(f, out.client_message_id);
      case 7:
        return ReadBytes(f, kMaxContentSize, out.content);
    }
    return Fine();
  });
}

WireStatus Parse(Bytes in, QueueEmpty&) { return ParseEmpty(in); }

WireStatus Parse(Bytes in, PreKeysLow& out) {
  return ParseFields(in, Fields({1}, {1}),
                     [&](const ProtoField& f) { return f.number == 1 ? Read(f, out.count) : Fine(); });
}

WireStatus Parse(Bytes in, Push& out) {
  bool has_body = false;
  WIRE_TRY(ParseFields(in, Fields({1}, {1}), [&](const ProtoField& f) {
    return f.number == 1 ? Read(f, out.id) : ReadBody(f, has_body, out.body);
  }));
  if (!has_body) return Fail(WireErrc::kNoBody, "a push without a known body");
  return Fine();
}

WireStatus Parse(Bytes in, PushAck& out) {
  return ParseFields(in, Fields({1}, {1}),
                     [&](const ProtoField& f) { return f.number == 1 ? Read(f, out.id) : Fine(); });
}

WireStatus Parse(Bytes in, Frame& out) {
  bool has_body = false;
  WIRE_TRY(ParseFields(in, {}, [&](const ProtoField& f) { return ReadBody(f, has_body, out); }));
  if (!has_body) return Fail(WireErrc::kNoBody, "a frame without a known body");
  return Fine();
}

// ---- Encoding: one function per message, run over two sinks --------------------
// SizeSink measures what WriteSink then writes, so every buffer and every
// length prefix is known before a byte is written.

constexpr std::uint64_t Tag(std::uint32_t number, WireType type) {
  return (std::uint64_t{number} << 3) | static_cast<std::uint8_t>(type);
}

std::size_t LengthDelimitedSize(std::uint32_t number, std::size_t length) {
  return VarintSize(Tag(number, WireType::kLengthDelimited)) + VarintSize(length) + length;
}

std::size_t PackedSize(const std::vector<DeviceId>& ids) {
  std::size_t size = 0;
  for (DeviceId id : ids) size += VarintSize(id.value());
  return size;
}

template <class M>
std::size_t SizeOf(const M& message);

class SizeSink {
 public:
  void VarintField(std::uint32_t number, std::uint64_t value) {
    size_ += VarintSize(Tag(number, WireType::kVarint)) + VarintSize(value);
  }
  void BytesField(std::uint32_t number, std::span<const std::uint8_t> bytes) {
    size_ += LengthDelimitedSize(number, bytes.size());
  }
  void TextField(std::uint32_t number, std::string_view text) {
    size_ += LengthDelimitedSize(number, text.size());
  }
  template <class M>
  void MessageField(std::uint32_t number, const M& message) {
    size_ += LengthDelimitedSize(number, SizeOf(message));
  }
  void PackedField(std::uint32_t number, const std::vector<DeviceId>& ids) {
    if (!ids.empty()) size_ += LengthDelimitedSize(number, PackedSize(ids));
  }
  std::size_t size() const { return size_; }

 private:
  std::size_t size_ = 0;
};

template <class M>
std::size_t SizeOf(const M& message) {
  SizeSink sink;
  Encode(sink, message);
  return sink.size();
}

class WriteSink {
 public:
  explicit WriteSink(ByteWriter& out) : out_(out) {}

  void VarintField(std::uint32_t number, std::uint64_t value) { WriteVarintField(out_, number, value); }
  void BytesField(std::uint32_t number, std::span<const std::uint8_t> bytes) {
    WriteBytesField(out_, number, bytes);
  }
  void TextField(std::uint32_t number, std::string_view text) { WriteStringField(out_, number, text); }
  template <class M>
  void MessageField(std::uint32_t number, const M& message) {
    out_.WriteVarint(Tag(number, WireType::kLengthDelimited));
    out_.WriteVarint(SizeOf(message));
    Encode(*this, message);
  }
  void PackedField(std::uint32_t number, const std::vector<DeviceId>& ids) {
    if (ids.empty()) return;
    out_.WriteVarint(Tag(number, WireType::kLengthDelimited));
    out_.WriteVarint(PackedSize(ids));
    for (DeviceId id : ids) out_.WriteVarint(id.value());
  }

 private:
  ByteWriter& out_;
};

// A copy: AccountId::value() returns the Uuid by value.
std::array<std::uint8_t, kAccountIdSize> BytesOf(const AccountId& id) { return id.value().bytes(); }

template <class Sink, class Variant>
void EncodeBody(Sink& sink, const Variant& body) {
  std::visit(
      [&](const auto& alternative) {
        using Alternative = std::decay_t<decltype(alternative)>;
        if constexpr (!std::is_same_v<Alternative, std::monostate>) {
          sink.MessageField(kBodyField<Alternative>, alternative);
        }
      },
      body);
}

template <class Sink>
void Encode(Sink& sink, const SignedPreKey& k) {
  sink.VarintField(1, k.id.value());
  sink.BytesField(2, k.public_key);
  sink.BytesField(3, k.signature);
}

template <class Sink>
void Encode(Sink& sink, const OneTimePreKey& k) {
  sink.VarintField(1, k.id.value());
  sink.BytesField(2, k.public_key);
}

template <class Sink>
void EncodePreKeys(Sink& sink, std::uint32_t number, const std::vector<OneTimePreKey>& prekeys) {
  for (const OneTimePreKey& k : prekeys) sink.MessageField(number, k);
}

template <class Sink>
void Encode(Sink& sink, const RegisterRequest& r) {
  sink.TextField(1, r.username);
  if (r.invitation_token) sink.TextField(2, *r.invitation_token);
  sink.VarintField(3, r.registration_id.value());
  sink.BytesField(4, r.identity_key);
  sink.MessageField(5, r.signed_prekey);
  EncodePreKeys(sink, 6, r.prekeys);
  if (r.device_name) sink.TextField(7, *r.device_name);
}

template <class Sink>
void Encode(Sink& sink, const AuthenticateRequest& r) {
  sink.BytesField(1, BytesOf(r.account_id));
  sink.VarintField(2, r.device_id.value());
  sink.BytesField(3, r.credential.secret.bytes());
  if (r.push_window) sink.VarintField(4, *r.push_window);
}

template <class Sink>
void Encode(Sink&, const CreateLinkCodeRequest&) {}

template <class Sink>
void Encode(Sink& sink, const LinkDeviceRequest& r) {
  sink.TextField(1, r.code);
  sink.VarintField(2, r.registration_id.value());
  sink.BytesField(3, r.identity_key);
  sink.MessageField(4, r.signed_prekey);
  EncodePreKeys(sink, 5, r.prekeys);
  sink.TextField(6, r.device_name);
}

template <class Sink>
void Encode(Sink&, const ListDevicesRequest&) {}

template <class Sink>
void Encode(Sink& sink, const UnlinkDeviceRequest& r) {
  sink.VarintField(1, r.device_id.value());
}

template <class Sink>
void Encode(Sink& sink, const SetUsernameRequest& r) {
  sink.TextField(1, r.username);
}

template <class Sink>
void Encode(Sink& sink, const LookupUsernameRequest& r) {
  sink.TextField(1, r.username);
}

template <class Sink>
void Encode(Sink&, const DeleteAccountRequest&) {}

template <class Sink>
void Encode(Sink& sink, const UploadKeysRequest& r) {
  if (r.signed_prekey) sink.MessageField(1, *r.signed_prekey);
  EncodePreKeys(sink, 2, r.prekeys);
}

template <class Sink>
void Encode(Sink&, const GetPreKeyCountRequest&) {}

template <class Sink, class KeyRequest>
void EncodeKeyTarget(Sink& sink, const KeyRequest& r) {
  if (const auto* account = std::get_if<AccountId>(&r.target)) {
    sink.BytesField(1, BytesOf(*account));
  } else {
    sink.TextField(2, std::get<std::string>(r.target));
  }
  if (r.device_id) sink.VarintField(3, r.device_id->value());
}

template <class Sink>
void Encode(Sink& sink, const GetBundlesRequest& r) {
  EncodeKeyTarget(sink, r);
}

template <class Sink>
void Encode(Sink& sink, const GetIdentityKeysRequest& r) {
  EncodeKeyTarget(sink, r);
}

template <class Sink>
void Encode(Sink& sink, const OutgoingMessage& m) {
  sink.VarintField(1, m.device_id.value());
  sink.VarintField(2, m.registration_id.value());
  sink.VarintField(3, m.type);
  sink.BytesField(4, m.content);
}

template <class Sink, class Messages>
void EncodeRecipientMessages(Sink& sink, const Messages& m) {
  sink.BytesField(1, BytesOf(m.recipient));
  sink.BytesField(2, m.client_message_id);
  for (const OutgoingMessage& message : m.messages) sink.MessageField(3, message);
}

template <class Sink>
void Encode(Sink& sink, const SendMessagesRequest& r) {
  EncodeRecipientMessages(sink, r);
  if (r.sync) sink.VarintField(4, 1);
}

template <class Sink>
void Encode(Sink& sink, const RecipientMessages& r) {
  EncodeRecipientMessages(sink, r);
}

template <class Sink>
void Encode(Sink& sink, const SendMultiRecipientRequest& r) {
  for (const RecipientMessages& recipient : r.recipients) sink.MessageField(1, recipient);
}

template <class Sink>
void Encode(Sink&, const PingRequest&) {}

template <class Sink>
void Encode(Sink& sink, const Request& r) {
  sink.VarintField(1, r.id);
  EncodeBody(sink, r.body);
}

template <class Sink, class NewDevice>
void EncodeNewDevice(Sink& sink, const NewDevice& r) {
  sink.BytesField(1, BytesOf(r.account_id));
  sink.VarintField(2, r.device_id.value());
  sink.BytesField(3, r.credential.secret.bytes());
}

template <class Sink>
void Encode(Sink& sink, const RegisterResult& r) {
  EncodeNewDevice(sink, r);
}

template <class Sink>
void Encode(Sink& sink, const LinkDeviceResult& r) {
  EncodeNewDevice(sink, r);
}

template <class Sink>
void Encode(Sink& sink, const CreateLinkCodeResult& r) {
  sink.TextField(1, r.code);
  sink.VarintField(2, r.expires_at_ms);
}

template <class Sink>
void Encode(Sink& sink, const DeviceInfo& d) {
  sink.VarintField(1, d.id.value());
  if (d.name) sink.TextField(2, *d.name);
  sink.VarintField(3, d.created_at_ms);
  sink.VarintField(4, d.last_seen_at_ms);
}

template <class Sink>
void Encode(Sink& sink, const ListDevicesResult& r) {
  for (const DeviceInfo& d : r.devices) sink.MessageField(1, d);
}

template <class Sink>
void Encode(Sink& sink, const PreKeyCountResult& r) {
  sink.VarintField(1, r.count);
}

template <class Sink>
void Encode(Sink& sink, const DeviceBundle& b) {
  sink.VarintField(1, b.device_id.value());
  sink.VarintField(2, b.registration_id.value());
  sink.BytesField(3, b.identity_key);
  sink.MessageField(4, b.signed_prekey);
  if (b.prekey) sink.MessageField(5, *b.prekey);
}

template <class Sink, class AccountDevices>
void EncodeAccountDevices(Sink& sink, const AccountDevices& r) {
  sink.BytesField(1, BytesOf(r.account_id));
  for (const auto& device : r.devices) sink.MessageField(2, device);
}

template <class Sink>
void Encode(Sink& sink, const BundlesResult& r) {
  EncodeAccountDevices(sink, r);
}

template <class Sink>
void Encode(Sink& sink, const UsernameLookupResult& r) {
  sink.BytesField(1, BytesOf(r.account_id));
}

template <class Sink>
void Encode(Sink& sink, const DeviceIdentity& d) {
  sink.VarintField(1, d.device_id.value());
  sink.BytesField(2, d.identity_key);
}

template <class Sink>
void Encode(Sink& sink, const IdentityKeysResult& r) {
  EncodeAccountDevices(sink, r);
}

template <class Sink>
void Encode(Sink& sink, const SendResult& r) {
  sink.VarintField(1, r.server_timestamp_ms);
}

template <class Sink>
void Encode(Sink& sink, const MismatchedDevices& m) {
  sink.PackedField(1, m.missing);
  sink.PackedField(2, m.extra);
  sink.PackedField(3, m.stale);
}

template <class Sink>
void Encode(Sink& sink, const RecipientResult& r) {
  sink.BytesField(1, BytesOf(r.recipient));
  sink.VarintField(2, static_cast<std::uint32_t>(r.status));
  if (r.mismatched_devices) sink.MessageField(3, *r.mismatched_devices);
  if (r.retry_after_ms) sink.VarintField(4, *r.retry_after_ms);
  if (r.server_timestamp_ms) sink.VarintField(5, *r.server_timestamp_ms);
}

template <class Sink>
void Encode(Sink& sink, const SendMultiRecipientResult& r) {
  sink.VarintField(1, r.server_timestamp_ms);
  for (const RecipientResult& result : r.results) sink.MessageField(2, result);
}

template <class Sink>
void Encode(Sink& sink, const Response& r) {
  sink.VarintField(1, r.id);
  sink.VarintField(2, static_cast<std::uint32_t>(r.status));
  if (!r.error_detail.empty()) sink.TextField(3, r.error_detail);
  if (r.retry_after_ms) sink.VarintField(4, *r.retry_after_ms);
  EncodeBody(sink, r.body);
}

template <class Sink>
void Encode(Sink& sink, const Envelope& e) {
  sink.VarintField(1, e.server_id);
  sink.VarintField(2, e.server_timestamp_ms);
  sink.BytesField(3, BytesOf(e.sender));
  sink.VarintField(4, e.sender_device.value());
  sink.VarintField(5, e.type);
  sink.BytesField(6, e.client_message_id);
  sink.BytesField(7, e.content);
}

template <class Sink>
void Encode(Sink&, const QueueEmpty&) {}

template <class Sink>
void Encode(Sink& sink, const PreKeysLow& p) {
  sink.VarintField(1, p.count);
}

template <class Sink>
void Encode(Sink& sink, const Push& p) {
  sink.VarintField(1, p.id);
  EncodeBody(sink, p.body);
}

template <class Sink>
void Encode(Sink& sink, const PushAck& a) {
  sink.VarintField(1, a.id);
}

// Validates, measures, then writes into a buffer of exactly that size.
// `encode` writes the message's fields into a sink.
template <class M, class EncodeFields>
WireResult<Buffer> EncodeChecked(const M& message, EncodeFields encode) {
  WIRE_TRY(Validate(message));
  SizeSink size;
  encode(size);
  if (size.size() > kMaxFrameSize) return Fail(WireErrc::kTooLarge, "encoding over kMaxFrameSize");
  ByteWriter out(size.size());
  WriteSink writer(out);
  encode(writer);
  return out.Take();
}

// One kind of frame, as the Frame's only field.
template <class Kind>
WireResult<Buffer> EncodeFrameOf(const Kind& kind) {
  return EncodeChecked(kind, [&](auto& sink) { sink.MessageField(kBodyField<Kind>, kind); });
}

}  // namespace

WireResult<Frame> DecodeFrame(Bytes frame, std::size_t max_frame_size) {
  if (frame.size() > std::min(max_frame_size, kMaxFrameSize)) {
    return Fail(WireErrc::kTooLarge, "frame over its size cap");
  }
  Frame out;
  WIRE_TRY(Parse(frame, out));
  WIRE_TRY(Validate(out));
  return out;
}

WireResult<ClientFrame> DecodeClientFrame(Bytes frame, std::size_t max_frame_size) {
  auto decoded = DecodeFrame(frame, max_frame_size);
  if (!decoded) return tl::unexpected(decoded.error());
  if (auto* request = std::get_if<Request>(&*decoded)) return ClientFrame(std::move(*request));
  if (auto* ack = std::get_if<PushAck>(&*decoded)) return ClientFrame(*ack);
  return Fail(WireErrc::kWrongDirection, "a server frame from a client");
}

WireResult<ServerFrame> DecodeServerFrame(Bytes frame) {
  auto decoded = DecodeFrame(frame);
  if (!decoded) return tl::unexpected(decoded.error());
  if (auto* response = std::get_if<Response>(&*decoded)) return ServerFrame(std::move(*response));
  if (auto* push = std::get_if<Push>(&*decoded)) return ServerFrame(std::move(*push));
  return Fail(WireErrc::kWrongDirection, "a client frame from a server");
}

std::optional<std::uint64_t> PeekRequestId(Bytes frame) {
  ProtoReader reader(frame);
  ProtoField field;
  while (reader.Next(field)) {
    if (field.number != kBodyField<Request> || field.type != WireType::kLengthDelimited) continue;
    ProtoReader request(field.bytes);
    while (request.Next(field)) {
      if (field.number == 1 && field.type == WireType::kVarint) return field.value;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

WireResult<Buffer> EncodeFrame(const Frame& frame) {
  return std::visit([](const auto& kind) { return EncodeFrameOf(kind); }, frame);
}

WireResult<Buffer> EncodeFrame(const Request& request) { return EncodeFrameOf(request); }
WireResult<Buffer> EncodeFrame(const Response& response) { return EncodeFrameOf(response); }
WireResult<Buffer> EncodeFrame(const Push& push) { return EncodeFrameOf(push); }
WireResult<Buffer> EncodeFrame(const PushAck& ack) { return EncodeFrameOf(ack); }

template <class T>
WireResult<T> DecodeMessage(Bytes bytes) {
  T out;
  WIRE_TRY(Parse(bytes, out));
  WIRE_TRY(Validate(out));
  return out;
}

template <class T>
WireResult<Buffer> EncodeMessage(const T& message) {
  return EncodeChecked(message, [&](auto& sink) { Encode(sink, message); });
}

#define WIRE_INSTANTIATE(T)                             \
  template WireResult<T> DecodeMessage<T>(Bytes bytes); \
  template WireResult<Buffer> EncodeMessage<T>(const T& message);
PARLEY_WIRE_MESSAGES(WIRE_INSTANTIATE)
#undef WIRE_INSTANTIATE

}  // namespace parley::wire
