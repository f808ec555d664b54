#include "client/content.h"

#include <algorithm>

#include "base/byte_writer.h"
#include "base/proto.h"

namespace parley::client {

namespace {

// Field numbers (docs/client.md, "Message content").
namespace field {
// Content
constexpr std::uint32_t kMessageId = 1;
constexpr std::uint32_t kSentAt = 2;
constexpr std::uint32_t kGroup = 3;
constexpr std::uint32_t kSyncDestination = 4;
constexpr std::uint32_t kSenderUsername = 5;
constexpr std::uint32_t kDestinationUsername = 6;
constexpr std::uint32_t kData = 10;
constexpr std::uint32_t kReaction = 11;
constexpr std::uint32_t kEdit = 12;
constexpr std::uint32_t kDelete = 13;
constexpr std::uint32_t kReceipt = 14;
constexpr std::uint32_t kTyping = 15;
constexpr std::uint32_t kTimer = 16;
constexpr std::uint32_t kSenderKeyDistribution = 17;
constexpr std::uint32_t kGroupUpdate = 18;
constexpr std::uint32_t kContactSync = 19;
constexpr std::uint32_t kSyncRequest = 20;
// DataBody
constexpr std::uint32_t kText = 1;
constexpr std::uint32_t kQuote = 2;
constexpr std::uint32_t kAttachment = 3;
constexpr std::uint32_t kExpireSeconds = 4;
// ReactionBody, EditBody, DeleteBody: 1 target, 2 emoji or text
constexpr std::uint32_t kTarget = 1;
constexpr std::uint32_t kSecond = 2;
// ReceiptBody: 1 kind, 2 repeated target
constexpr std::uint32_t kReceiptKind = 1;
constexpr std::uint32_t kReceiptTarget = 2;
// TypingBody: 1 started; TimerBody: 1 seconds; SenderKeyDistributionBody: 1 message;
// SyncRequestBody: 1 kind, 2 any_device
constexpr std::uint32_t kOnly = 1;
constexpr std::uint32_t kSyncAnyDevice = 2;
// AttachmentPointer
constexpr std::uint32_t kAttachmentId = 1;
constexpr std::uint32_t kAttachmentKey = 2;
constexpr std::uint32_t kAttachmentDigest = 3;
constexpr std::uint32_t kAttachmentSize = 4;
constexpr std::uint32_t kFileName = 5;
constexpr std::uint32_t kContentType = 6;
// GroupContext
constexpr std::uint32_t kGroupId = 1;
constexpr std::uint32_t kGroupName = 2;
constexpr std::uint32_t kGroupMember = 3;
constexpr std::uint32_t kGroupAdmin = 4;
constexpr std::uint32_t kGroupVersion = 5;
constexpr std::uint32_t kGroupAuthor = 6;
constexpr std::uint32_t kGroupChange = 7;
// GroupChange (ops alone: field 4 only)
constexpr std::uint32_t kChangeVersion = 1;
constexpr std::uint32_t kChangeAuthor = 2;
constexpr std::uint32_t kChangeDevice = 3;
constexpr std::uint32_t kChangeOp = 4;
constexpr std::uint32_t kChangeSignature = 5;
// GroupOp
constexpr std::uint32_t kOpKind = 1;
constexpr std::uint32_t kOpTarget = 2;
constexpr std::uint32_t kOpName = 3;
// ContactSyncBody: 1 repeated contact, 2 snapshot
constexpr std::uint32_t kSyncedContact = 1;
constexpr std::uint32_t kSnapshot = 2;
// SyncedContact
constexpr std::uint32_t kContactAccount = 1;
constexpr std::uint32_t kContactUsername = 2;
constexpr std::uint32_t kContactState = 3;
constexpr std::uint32_t kContactVerified = 4;
constexpr std::uint32_t kContactIdentity = 5;
// SyncedIdentity
constexpr std::uint32_t kIdentityDevice = 1;
constexpr std::uint32_t kIdentityKey = 2;
}  // namespace field

using Failure = tl::unexpected<Error<ContentErrc>>;

Failure Malformed() { return Fail(ContentErrc::kMalformed, "the content is not protobuf wire format"); }
Failure WrongType() { return Fail(ContentErrc::kWrongWireType, "a content field has the wrong wire type"); }
Failure Duplicate() { return Fail(ContentErrc::kDuplicateField, "a singular content field appears twice"); }
Failure Missing() { return Fail(ContentErrc::kMissingField, "a required content field is missing"); }
Failure TooLarge() { return Fail(ContentErrc::kTooLarge, "a content field is over its size cap"); }
Failure BadLength() { return Fail(ContentErrc::kBadLength, "a fixed-size content field has another size"); }
Failure OutOfRange() { return Fail(ContentErrc::kOutOfRange, "a content integer is out of range"); }
Failure BadText() { return Fail(ContentErrc::kInvalidText, "a content string is not well-formed UTF-8"); }

using Status = Result<void, ContentErrc>;

// Tracks which singular fields were seen.
class Seen {
 public:
  bool First(std::uint32_t number) {
    if (number >= 64) return true;
    const std::uint64_t bit = std::uint64_t{1} << number;
    if ((mask_ & bit) != 0) return false;
    mask_ |= bit;
    return true;
  }
  bool Has(std::uint32_t number) const { return number < 64 && (mask_ & (std::uint64_t{1} << number)) != 0; }

 private:
  std::uint64_t mask_ = 0;
};

Status ExpectBytes(const ProtoField& f) {
  if (f.type != WireType::kLengthDelimited) return WrongType();
  return {};
}
Status ExpectVarint(const ProtoField& f) {
  if (f.type != WireType::kVarint) return WrongType();
  return {};
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>, ContentErrc> FixedBytes(const ProtoField& f) {
  if (auto s = ExpectBytes(f); !s) return tl::unexpected(s.error());
  if (f.bytes.size() != N) return BadLength();
  std::array<std::uint8_t, N> out{};
  std::copy(f.bytes.begin(), f.bytes.end(), out.begin());
  return out;
}

Result<std::string, ContentErrc> Text(const ProtoField& f, std::size_t cap) {
  if (auto s = ExpectBytes(f); !s) return tl::unexpected(s.error());
  if (f.bytes.size() > cap) return TooLarge();
  std::string out(reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size());
  if (!IsWellFormedUtf8(out)) return BadText();
  return out;
}

Result<std::uint32_t, ContentErrc> Uint32(const ProtoField& f, std::uint32_t max) {
  if (auto s = ExpectVarint(f); !s) return tl::unexpected(s.error());
  if (f.value > max) return OutOfRange();
  return static_cast<std::uint32_t>(f.value);
}

#define CONTENT_TRY(expr)                                \
  do {                                                   \
    if (auto content_status = (expr); !content_status) { \
      return tl::unexpected(content_status.error());     \
    }                                                    \
  } while (false)

#define CONTENT_SINGULAR(seen, f)                      \
  do {                                                 \
    if (!(seen).First((f).number)) return Duplicate(); \
  } while (false)

// Reads a singular field with `read` into `out`: kDuplicateField the second
// time, and `read`'s error when the field breaks its rule.
template <class T, class Read>
Status Singular(Seen& seen, const ProtoField& f, T& out, Read&& read) {
  if (!seen.First(f.number)) return Duplicate();
  auto value = read(f);
  if (!value) return tl::unexpected(value.error());
  out = std::move(*value);
  return {};
}

Result<ContentId, ContentErrc> IdField(const ProtoField& f) { return FixedBytes<kContentIdSize>(f); }
Result<AccountId, ContentErrc> AccountField(const ProtoField& f) {
  auto id = FixedBytes<Uuid::kSize>(f);
  if (!id) return tl::unexpected(id.error());
  return AccountId(Uuid(*id));
}
auto TextField(std::size_t cap) {
  return [cap](const ProtoField& f) { return Text(f, cap); };
}
auto Uint32Field(std::uint32_t max) {
  return [max](const ProtoField& f) { return Uint32(f, max); };
}
// A varint field in [min, max], read as T (an integer, an enum or bool).
template <class T>
auto VarintAs(std::uint64_t min, std::uint64_t max) {
  return [min, max](const ProtoField& f) -> Result<T, ContentErrc> {
    if (auto s = ExpectVarint(f); !s) return tl::unexpected(s.error());
    if (f.value < min || f.value > max) return OutOfRange();
    return static_cast<T>(f.value);
  };
}

// Reads one field of a message whose only known fields are `target` (16
// bytes, required) and an optional string `second` up to `cap` bytes.
Status DecodeTargetAndText(Bytes bytes, ContentId& target, std::string* second, std::size_t cap,
                           bool second_required) {
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    if (f.number == field::kTarget) {
      CONTENT_TRY(Singular(seen, f, target, IdField));
    } else if (f.number == field::kSecond && second != nullptr) {
      CONTENT_TRY(Singular(seen, f, *second, TextField(cap)));
    }
  }
  if (reader.failed()) return Malformed();
  if (!seen.Has(field::kTarget) || (second_required && !seen.Has(field::kSecond))) return Missing();
  return {};
}

Result<AttachmentPointer, ContentErrc> DecodeAttachment(Bytes bytes) {
  AttachmentPointer a;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    switch (f.number) {
      case field::kAttachmentId:
        CONTENT_TRY(Singular(seen, f, a.id, IdField));
        break;
      case field::kAttachmentKey: {
        CONTENT_SINGULAR(seen, f);
        CONTENT_TRY(ExpectBytes(f));
        if (f.bytes.size() != kAttachmentKeySize) return BadLength();
        a.key = SecretArray<kAttachmentKeySize>(
            std::span<const std::uint8_t, kAttachmentKeySize>(f.bytes.data(), kAttachmentKeySize));
        break;
      }
      case field::kAttachmentDigest:
        CONTENT_TRY(Singular(seen, f, a.digest, FixedBytes<kAttachmentDigestSize>));
        break;
      case field::kAttachmentSize:
        CONTENT_TRY(Singular(seen, f, a.size, VarintAs<std::uint64_t>(1, kMaxAttachmentBytes)));
        break;
      case field::kFileName:
        CONTENT_TRY(Singular(seen, f, a.file_name, TextField(kMaxFileNameBytes)));
        break;
      case field::kContentType:
        CONTENT_TRY(Singular(seen, f, a.content_type, TextField(kMaxContentTypeBytes)));
        break;
      default:
        break;
    }
  }
  if (reader.failed()) return Malformed();
  for (std::uint32_t n :
       {field::kAttachmentId, field::kAttachmentKey, field::kAttachmentDigest, field::kAttachmentSize}) {
    if (!seen.Has(n)) return Missing();
  }
  return a;
}

Result<AttachmentPointer, ContentErrc> AttachmentField(const ProtoField& f) {
  CONTENT_TRY(ExpectBytes(f));
  return DecodeAttachment(f.bytes);
}

Result<DataBody, ContentErrc> DecodeData(Bytes bytes) {
  DataBody d;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    switch (f.number) {
      case field::kText:
        CONTENT_TRY(Singular(seen, f, d.text, TextField(kMaxTextBytes)));
        break;
      case field::kQuote:
        CONTENT_TRY(Singular(seen, f, d.quote, IdField));
        break;
      case field::kAttachment:
        CONTENT_TRY(Singular(seen, f, d.attachment, AttachmentField));
        break;
      case field::kExpireSeconds:
        CONTENT_TRY(Singular(seen, f, d.expire_seconds, Uint32Field(kMaxDisappearingSeconds)));
        break;
      default:
        break;
    }
  }
  if (reader.failed()) return Malformed();
  if (d.text.empty() && !d.attachment) return Missing();
  return d;
}

Result<ReceiptBody, ContentErrc> DecodeReceipt(Bytes bytes) {
  ReceiptBody r;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    if (f.number == field::kReceiptKind) {
      CONTENT_TRY(Singular(seen, f, r.kind, VarintAs<ReceiptKind>(1, 2)));
    } else if (f.number == field::kReceiptTarget) {
      if (r.targets.size() == kMaxReceiptTargets) {
        return Fail(ContentErrc::kTooMany, "a receipt names too many messages");
      }
      auto id = FixedBytes<kContentIdSize>(f);
      if (!id) return tl::unexpected(id.error());
      r.targets.push_back(*id);
    }
  }
  if (reader.failed()) return Malformed();
  if (!seen.Has(field::kReceiptKind) || r.targets.empty()) return Missing();
  return r;
}

Result<std::uint64_t, ContentErrc> DecodeSingleVarint(Bytes bytes, std::uint64_t max) {
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  std::uint64_t value = 0;
  while (reader.Next(f)) {
    if (f.number != field::kOnly) continue;
    CONTENT_TRY(Singular(seen, f, value, VarintAs<std::uint64_t>(0, max)));
  }
  if (reader.failed()) return Malformed();
  if (!seen.Has(field::kOnly)) return Missing();
  return value;
}

Result<SyncRequestBody, ContentErrc> DecodeSyncRequest(Bytes bytes) {
  SyncRequestBody r;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    if (f.number == field::kOnly) {
      constexpr auto kOnlyKind = static_cast<std::uint64_t>(SyncRequestKind::kContactsAndGroups);
      CONTENT_TRY(Singular(seen, f, r.kind, VarintAs<SyncRequestKind>(kOnlyKind, kOnlyKind)));
    } else if (f.number == field::kSyncAnyDevice) {
      CONTENT_TRY(Singular(seen, f, r.any_device, VarintAs<bool>(0, 1)));
    }
  }
  if (reader.failed()) return Malformed();
  if (!seen.Has(field::kOnly)) return Missing();
  return r;
}

Result<std::uint64_t, ContentErrc> VersionField(const ProtoField& f) {
  CONTENT_TRY(ExpectVarint(f));
  if (f.value == 0 || f.value > static_cast<std::uint64_t>(INT64_MAX)) return OutOfRange();
  return f.value;
}

Result<GroupOp, ContentErrc> DecodeGroupOp(Bytes bytes) {
  GroupOp op;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    switch (f.number) {
      case field::kOpKind: {
        CONTENT_TRY(Singular(seen, f, op.kind, VarintAs<GroupOpKind>(1, kMaxGroupOpKind)));
        break;
      }
      case field::kOpTarget:
        CONTENT_TRY(Singular(seen, f, op.target, AccountField));
        break;
      case field::kOpName:
        CONTENT_TRY(Singular(seen, f, op.name, TextField(kMaxGroupNameBytes)));
        break;
      default:
        break;
    }
  }
  if (reader.failed()) return Malformed();
  if (!seen.Has(field::kOpKind)) return Missing();
  // Each kind has one operand; the other is not kept.
  if (op.kind == GroupOpKind::kRename) {
    if (op.name.empty()) return Missing();
    op.target = AccountId{};
  } else {
    if (!seen.Has(field::kOpTarget)) return Missing();
    op.name.clear();
  }
  return op;
}

// Reads one operation field of a change into `ops`.
Status AppendGroupOp(const ProtoField& f, std::vector<GroupOp>& ops) {
  CONTENT_TRY(ExpectBytes(f));
  if (ops.size() == kMaxGroupOpsPerChange) {
    return Fail(ContentErrc::kTooMany, "a group change makes too many operations");
  }
  auto op = DecodeGroupOp(f.bytes);
  if (!op) return tl::unexpected(op.error());
  ops.push_back(std::move(*op));
  return {};
}

Result<GroupChange, ContentErrc> DecodeGroupChange(Bytes bytes) {
  GroupChange change;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    switch (f.number) {
      case field::kChangeVersion:
        CONTENT_TRY(Singular(seen, f, change.stamp.version, VarintAs<std::uint64_t>(1, kMaxGroupVersion)));
        break;
      case field::kChangeAuthor:
        CONTENT_TRY(Singular(seen, f, change.stamp.author, AccountField));
        break;
      case field::kChangeDevice:
        CONTENT_TRY(
            Singular(seen, f, change.stamp.device, Uint32Field(static_cast<std::uint32_t>(INT32_MAX))));
        break;
      case field::kChangeOp:
        CONTENT_TRY(AppendGroupOp(f, change.ops));
        break;
      case field::kChangeSignature:
        CONTENT_TRY(Singular(seen, f, change.signature, FixedBytes<kGroupChangeSignatureSize>));
        break;
      default:
        break;
    }
  }
  if (reader.failed()) return Malformed();
  if (!seen.Has(field::kChangeVersion) || !seen.Has(field::kChangeAuthor) || change.ops.empty()) {
    return Missing();
  }
  return change;
}

Result<GroupContext, ContentErrc> DecodeGroup(Bytes bytes) {
  GroupContext g;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    switch (f.number) {
      case field::kGroupId:
        CONTENT_TRY(Singular(seen, f, g.id, IdField));
        break;
      case field::kGroupName:
        CONTENT_TRY(Singular(seen, f, g.name, TextField(kMaxGroupNameBytes)));
        break;
      case field::kGroupVersion:
        CONTENT_TRY(Singular(seen, f, g.version, VersionField));
        break;
      case field::kGroupAuthor:
        CONTENT_TRY(Singular(seen, f, g.author, AccountField));
        break;
      case field::kGroupMember:
      case field::kGroupAdmin: {
        auto& list = f.number == field::kGroupMember ? g.members : g.admins;
        if (list.size() == kMaxGroupMembers) {
          return Fail(ContentErrc::kTooMany, "a group context lists too many members");
        }
        auto account = AccountField(f);
        if (!account) return tl::unexpected(account.error());
        list.push_back(*account);
        break;
      }
      case field::kGroupChange: {
        CONTENT_TRY(ExpectBytes(f));
        if (g.changes.size() == kMaxGroupChangesPerContent) {
          return Fail(ContentErrc::kTooMany, "a group context carries too many changes");
        }
        auto change = DecodeGroupChange(f.bytes);
        if (!change) return tl::unexpected(change.error());
        g.changes.push_back(std::move(*change));
        break;
      }
      default:
        break;
    }
  }
  if (reader.failed()) return Malformed();
  if (!seen.Has(field::kGroupId)) return Missing();
  return g;
}

Result<GroupContext, ContentErrc> GroupField(const ProtoField& f) {
  CONTENT_TRY(ExpectBytes(f));
  return DecodeGroup(f.bytes);
}

Result<SyncedIdentity, ContentErrc> DecodeSyncedIdentity(Bytes bytes) {
  SyncedIdentity identity;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    if (f.number == field::kIdentityDevice) {
      CONTENT_SINGULAR(seen, f);
      CONTENT_TRY(ExpectVarint(f));
      if (f.value == 0 || f.value > static_cast<std::uint64_t>(INT32_MAX)) return OutOfRange();
      identity.device = DeviceId(static_cast<std::uint32_t>(f.value));
    } else if (f.number == field::kIdentityKey) {
      CONTENT_TRY(Singular(seen, f, identity.key, FixedBytes<kSyncedIdentityKeySize>));
    }
  }
  if (reader.failed()) return Malformed();
  if (!seen.Has(field::kIdentityDevice) || !seen.Has(field::kIdentityKey)) return Missing();
  return identity;
}

Result<SyncedContact, ContentErrc> DecodeSyncedContact(Bytes bytes) {
  SyncedContact contact;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    switch (f.number) {
      case field::kContactAccount:
        CONTENT_TRY(Singular(seen, f, contact.account, AccountField));
        break;
      case field::kContactUsername:
        CONTENT_TRY(Singular(seen, f, contact.username, TextField(kMaxUsernameBytes)));
        break;
      case field::kContactState: {
        CONTENT_TRY(Singular(
            seen, f, contact.state,
            VarintAs<store::ContactState>(0, static_cast<std::uint64_t>(store::ContactState::kBlocked))));
        break;
      }
      case field::kContactVerified: {
        CONTENT_TRY(Singular(seen, f, contact.verified, VarintAs<bool>(0, 1)));
        break;
      }
      case field::kContactIdentity: {
        if (contact.identities.size() == kMaxSyncedIdentities) {
          return Fail(ContentErrc::kTooMany, "a synced contact lists too many identity keys");
        }
        CONTENT_TRY(ExpectBytes(f));
        auto identity = DecodeSyncedIdentity(f.bytes);
        if (!identity) return tl::unexpected(identity.error());
        contact.identities.push_back(*identity);
        break;
      }
      default:
        break;
    }
  }
  if (reader.failed()) return Malformed();
  if (!seen.Has(field::kContactAccount) || !seen.Has(field::kContactState)) return Missing();
  return contact;
}

void WriteId(ByteWriter& w, std::uint32_t number, const ContentId& id) { WriteBytesField(w, number, id); }

template <class Body>
std::vector<std::uint8_t> Nested(Body&& write) {
  ByteWriter w;
  write(w);
  return w.Take();
}

}  // namespace

std::string_view ContentErrcName(ContentErrc code) {
  switch (code) {
    case ContentErrc::kMalformed:
      return "malformed";
    case ContentErrc::kWrongWireType:
      return "wrong_wire_type";
    case ContentErrc::kDuplicateField:
      return "duplicate_field";
    case ContentErrc::kMissingField:
      return "missing_field";
    case ContentErrc::kNoBody:
      return "no_body";
    case ContentErrc::kMultipleBodies:
      return "multiple_bodies";
    case ContentErrc::kTooLarge:
      return "too_large";
    case ContentErrc::kTooMany:
      return "too_many";
    case ContentErrc::kBadLength:
      return "bad_length";
    case ContentErrc::kOutOfRange:
      return "out_of_range";
    case ContentErrc::kInvalidText:
      return "invalid_text";
  }
  return "malformed";
}

bool IsWellFormedUtf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

ContentResult<ContactSyncBody> DecodeContactSync(Bytes bytes) {
  ContactSyncBody body;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  while (reader.Next(f)) {
    if (f.number == field::kSnapshot) {
      CONTENT_TRY(Singular(seen, f, body.snapshot, VarintAs<bool>(0, 1)));
      continue;
    }
    if (f.number != field::kSyncedContact) continue;
    if (body.contacts.size() == kMaxSyncedContacts) {
      return Fail(ContentErrc::kTooMany, "a contact sync lists too many contacts");
    }
    CONTENT_TRY(ExpectBytes(f));
    auto contact = DecodeSyncedContact(f.bytes);
    if (!contact) return tl::unexpected(contact.error());
    body.contacts.push_back(std::move(*contact));
  }
  if (reader.failed()) return Malformed();
  if (body.contacts.empty()) return Missing();
  return body;
}

ContentResult<Content> DecodeContent(Bytes bytes) {
  if (bytes.size() > kMaxContentBytes) return TooLarge();
  Content c;
  ProtoReader reader(bytes);
  ProtoField f;
  Seen seen;
  int bodies = 0;
  while (reader.Next(f)) {
    switch (f.number) {
      case field::kMessageId:
        CONTENT_TRY(Singular(seen, f, c.message_id, IdField));
        break;
      case field::kSentAt:
        CONTENT_TRY(Singular(seen, f, c.sent_at_ms, VarintAs<std::uint64_t>(0, INT64_MAX)));
        break;
      case field::kGroup:
        CONTENT_TRY(Singular(seen, f, c.group, GroupField));
        break;
      case field::kSyncDestination:
        CONTENT_TRY(Singular(seen, f, c.sync_destination, AccountField));
        break;
      case field::kSenderUsername:
      case field::kDestinationUsername:
        CONTENT_TRY(Singular(seen, f,
                             f.number == field::kSenderUsername ? c.sender_username : c.destination_username,
                             TextField(kMaxUsernameBytes)));
        break;
      case field::kData:
      case field::kReaction:
      case field::kEdit:
      case field::kDelete:
      case field::kReceipt:
      case field::kTyping:
      case field::kTimer:
      case field::kGroupUpdate:
      case field::kContactSync:
      case field::kSyncRequest:
      case field::kSenderKeyDistribution: {
        CONTENT_TRY(ExpectBytes(f));
        if (++bodies > 1) return Fail(ContentErrc::kMultipleBodies, "the content has more than one body");
        if (f.number == field::kData) {
          auto data = DecodeData(f.bytes);
          if (!data) return tl::unexpected(data.error());
          c.body = std::move(*data);
        } else if (f.number == field::kReaction) {
          ReactionBody r;
          CONTENT_TRY(DecodeTargetAndText(f.bytes, r.target, &r.emoji, kMaxEmojiBytes, false));
          c.body = std::move(r);
        } else if (f.number == field::kEdit) {
          EditBody e;
          CONTENT_TRY(DecodeTargetAndText(f.bytes, e.target, &e.text, kMaxTextBytes, true));
          c.body = std::move(e);
        } else if (f.number == field::kDelete) {
          DeleteBody d;
          CONTENT_TRY(DecodeTargetAndText(f.bytes, d.target, nullptr, 0, false));
          c.body = d;
        } else if (f.number == field::kReceipt) {
          auto receipt = DecodeReceipt(f.bytes);
          if (!receipt) return tl::unexpected(receipt.error());
          c.body = std::move(*receipt);
        } else if (f.number == field::kTyping) {
          auto started = DecodeSingleVarint(f.bytes, 1);
          if (!started) return tl::unexpected(started.error());
          c.body = TypingBody{*started == 1};
        } else if (f.number == field::kTimer) {
          auto seconds = DecodeSingleVarint(f.bytes, kMaxDisappearingSeconds);
          if (!seconds) return tl::unexpected(seconds.error());
          c.body = TimerBody{static_cast<std::uint32_t>(*seconds)};
        } else if (f.number == field::kGroupUpdate) {
          // No fields of its own: the group context carries the new state.
          c.body = GroupUpdateBody{};
        } else if (f.number == field::kContactSync) {
          auto contacts = DecodeContactSync(f.bytes);
          if (!contacts) return tl::unexpected(contacts.error());
          c.body = std::move(*contacts);
        } else if (f.number == field::kSyncRequest) {
          auto request = DecodeSyncRequest(f.bytes);
          if (!request) return tl::unexpected(request.error());
          c.body = *request;
        } else {
          ProtoReader inner(f.bytes);
          ProtoField g;
          Seen inner_seen;
          SenderKeyDistributionBody s;
          while (inner.Next(g)) {
            if (g.number != field::kOnly) continue;
            CONTENT_SINGULAR(inner_seen, g);
            CONTENT_TRY(ExpectBytes(g));
            if (g.bytes.empty()) return Missing();
            if (g.bytes.size() > kMaxSenderKeyDistributionBytes) return TooLarge();
            s.message = SecretBuffer(g.bytes);
          }
          if (inner.failed()) return Malformed();
          if (!inner_seen.Has(field::kOnly)) return Missing();
          c.body = std::move(s);
        }
        break;
      }
      default:
        break;
    }
  }
  if (reader.failed()) return Malformed();
  if (bodies == 0) return Fail(ContentErrc::kNoBody, "the content has no body this version knows");
  if (!seen.Has(field::kMessageId) || !seen.Has(field::kSentAt)) return Missing();
  return c;
}

namespace {

Status CheckText(std::string_view text, std::size_t cap) {
  if (text.size() > cap) return TooLarge();
  if (!IsWellFormedUtf8(text)) return BadText();
  return {};
}

Status WriteContactSync(ByteWriter& w, const ContactSyncBody& body) {
  if (body.contacts.empty()) return Missing();
  if (body.contacts.size() > kMaxSyncedContacts) {
    return Fail(ContentErrc::kTooMany, "a contact sync lists too many contacts");
  }
  ByteWriter list;
  for (const SyncedContact& c : body.contacts) {
    CONTENT_TRY(CheckText(c.username, kMaxUsernameBytes));
    if (c.state != store::ContactState::kRequest && c.state != store::ContactState::kAccepted &&
        c.state != store::ContactState::kBlocked) {
      return OutOfRange();
    }
    if (c.identities.size() > kMaxSyncedIdentities) {
      return Fail(ContentErrc::kTooMany, "a synced contact lists too many identity keys");
    }
    for (const SyncedIdentity& i : c.identities) {
      if (i.device.value() == 0 || i.device.value() > static_cast<std::uint32_t>(INT32_MAX))
        return OutOfRange();
    }
    WriteBytesField(list, field::kSyncedContact, Nested([&](ByteWriter& n) {
                      WriteBytesField(n, field::kContactAccount, c.account.value().bytes());
                      if (!c.username.empty()) WriteStringField(n, field::kContactUsername, c.username);
                      WriteVarintField(n, field::kContactState, static_cast<std::uint32_t>(c.state));
                      if (c.verified) WriteVarintField(n, field::kContactVerified, 1);
                      for (const SyncedIdentity& i : c.identities) {
                        WriteBytesField(n, field::kContactIdentity, Nested([&](ByteWriter& k) {
                                          WriteVarintField(k, field::kIdentityDevice, i.device.value());
                                          WriteBytesField(k, field::kIdentityKey, i.key);
                                        }));
                      }
                    }));
  }
  if (body.snapshot) WriteVarintField(list, field::kSnapshot, 1);
  WriteBytesField(w, field::kContactSync, list.Take());
  return {};
}

// The operations of a change, each a field kChangeOp of `w`.
Status WriteGroupOps(ByteWriter& w, const std::vector<GroupOp>& ops) {
  if (ops.empty()) return Missing();
  if (ops.size() > kMaxGroupOpsPerChange) {
    return Fail(ContentErrc::kTooMany, "a group change makes too many operations");
  }
  for (const GroupOp& op : ops) {
    const auto kind = static_cast<std::uint32_t>(op.kind);
    if (kind == 0 || kind > kMaxGroupOpKind) return OutOfRange();
    if (op.kind == GroupOpKind::kRename) {
      if (op.name.empty()) return Missing();
      CONTENT_TRY(CheckText(op.name, kMaxGroupNameBytes));
    }
    WriteBytesField(w, field::kChangeOp, Nested([&](ByteWriter& n) {
                      WriteVarintField(n, field::kOpKind, kind);
                      if (op.kind == GroupOpKind::kRename) {
                        WriteStringField(n, field::kOpName, op.name);
                      } else {
                        WriteBytesField(n, field::kOpTarget, op.target.value().bytes());
                      }
                    }));
  }
  return {};
}

Status WriteGroupChanges(ByteWriter& w, const std::vector<GroupChange>& changes) {
  if (changes.size() > kMaxGroupChangesPerContent) {
    return Fail(ContentErrc::kTooMany, "a group context carries too many changes");
  }
  for (const GroupChange& change : changes) {
    if (change.stamp.version == 0 || change.stamp.version > kMaxGroupVersion ||
        change.stamp.device > static_cast<std::uint32_t>(INT32_MAX)) {
      return OutOfRange();
    }
    ByteWriter n;
    WriteVarintField(n, field::kChangeVersion, change.stamp.version);
    WriteBytesField(n, field::kChangeAuthor, change.stamp.author.value().bytes());
    if (change.stamp.device != 0) WriteVarintField(n, field::kChangeDevice, change.stamp.device);
    CONTENT_TRY(WriteGroupOps(n, change.ops));
    if (change.signature) WriteBytesField(n, field::kChangeSignature, *change.signature);
    WriteBytesField(w, field::kGroupChange, n.Take());
  }
  return {};
}

}  // namespace

ContentResult<std::vector<std::uint8_t>> EncodeGroupOps(const std::vector<GroupOp>& ops) {
  ByteWriter w;
  CONTENT_TRY(WriteGroupOps(w, ops));
  return w.Take();
}

ContentResult<std::vector<GroupOp>> DecodeGroupOps(Bytes bytes) {
  std::vector<GroupOp> ops;
  ProtoReader reader(bytes);
  ProtoField f;
  while (reader.Next(f)) {
    if (f.number == field::kChangeOp) CONTENT_TRY(AppendGroupOp(f, ops));
  }
  if (reader.failed()) return Malformed();
  if (ops.empty()) return Missing();
  return ops;
}

ContentResult<SecretBuffer> EncodeContent(const Content& c) {
  ByteWriter w;
  WriteId(w, field::kMessageId, c.message_id);
  if (c.sent_at_ms > static_cast<std::uint64_t>(INT64_MAX)) return OutOfRange();
  WriteVarintField(w, field::kSentAt, c.sent_at_ms);
  if (c.group) {
    const GroupContext& g = *c.group;
    if (g.members.size() > kMaxGroupMembers || g.admins.size() > kMaxGroupMembers) {
      return Fail(ContentErrc::kTooMany, "too many group members");
    }
    if (g.name) CONTENT_TRY(CheckText(*g.name, kMaxGroupNameBytes));
    if (g.version > static_cast<std::uint64_t>(INT64_MAX)) return OutOfRange();
    ByteWriter n;
    WriteId(n, field::kGroupId, g.id);
    if (g.name) WriteStringField(n, field::kGroupName, *g.name);
    if (g.version != 0) WriteVarintField(n, field::kGroupVersion, g.version);
    if (g.author) WriteBytesField(n, field::kGroupAuthor, g.author->value().bytes());
    for (const AccountId& m : g.members) WriteBytesField(n, field::kGroupMember, m.value().bytes());
    for (const AccountId& a : g.admins) WriteBytesField(n, field::kGroupAdmin, a.value().bytes());
    CONTENT_TRY(WriteGroupChanges(n, g.changes));
    WriteBytesField(w, field::kGroup, n.Take());
  }
  if (c.sync_destination) WriteBytesField(w, field::kSyncDestination, c.sync_destination->value().bytes());
  for (const auto& [number, name] : {std::pair{field::kSenderUsername, &c.sender_username},
                                     std::pair{field::kDestinationUsername, &c.destination_username}}) {
    if (!*name) continue;
    CONTENT_TRY(CheckText(**name, kMaxUsernameBytes));
    WriteStringField(w, number, **name);
  }

  Status status;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, DataBody>) {
          if (body.text.empty() && !body.attachment) {
            status = Missing();
            return;
          }
          if (auto s = CheckText(body.text, kMaxTextBytes); !s) {
            status = s;
            return;
          }
          if (body.expire_seconds > kMaxDisappearingSeconds) {
            status = OutOfRange();
            return;
          }
          if (body.attachment) {
            const AttachmentPointer& a = *body.attachment;
            if (a.size == 0 || a.size > kMaxAttachmentBytes) {
              status = OutOfRange();
              return;
            }
            if (auto s = CheckText(a.file_name, kMaxFileNameBytes); !s) {
              status = s;
              return;
            }
            if (auto s = CheckText(a.content_type, kMaxContentTypeBytes); !s) {
              status = s;
              return;
            }
          }
          SecretBuffer nested(Nested([&](ByteWriter& n) {
            if (!body.text.empty()) WriteStringField(n, field::kText, body.text);
            if (body.quote) WriteId(n, field::kQuote, *body.quote);
            if (body.attachment) {
              const AttachmentPointer& a = *body.attachment;
              SecretBuffer pointer(Nested([&](ByteWriter& p) {
                WriteId(p, field::kAttachmentId, a.id);
                WriteBytesField(p, field::kAttachmentKey, a.key.bytes());
                WriteBytesField(p, field::kAttachmentDigest, a.digest);
                WriteVarintField(p, field::kAttachmentSize, a.size);
                if (!a.file_name.empty()) WriteStringField(p, field::kFileName, a.file_name);
                if (!a.content_type.empty()) WriteStringField(p, field::kContentType, a.content_type);
              }));
              WriteBytesField(n, field::kAttachment, pointer.bytes());
            }
            if (body.expire_seconds != 0) WriteVarintField(n, field::kExpireSeconds, body.expire_seconds);
          }));
          WriteBytesField(w, field::kData, nested.bytes());
        } else if constexpr (std::is_same_v<T, ReactionBody>) {
          if (auto s = CheckText(body.emoji, kMaxEmojiBytes); !s) {
            status = s;
            return;
          }
          WriteBytesField(w, field::kReaction, Nested([&](ByteWriter& n) {
                            WriteId(n, field::kTarget, body.target);
                            if (!body.emoji.empty()) WriteStringField(n, field::kSecond, body.emoji);
                          }));
        } else if constexpr (std::is_same_v<T, EditBody>) {
          if (auto s = CheckText(body.text, kMaxTextBytes); !s) {
            status = s;
            return;
          }
          WriteBytesField(w, field::kEdit, Nested([&](ByteWriter& n) {
                            WriteId(n, field::kTarget, body.target);
                            WriteStringField(n, field::kSecond, body.text);
                          }));
        } else if constexpr (std::is_same_v<T, DeleteBody>) {
          WriteBytesField(w, field::kDelete,
                          Nested([&](ByteWriter& n) { WriteId(n, field::kTarget, body.target); }));
        } else if constexpr (std::is_same_v<T, ReceiptBody>) {
          if (body.targets.empty()) {
            status = Missing();
            return;
          }
          if (body.targets.size() > kMaxReceiptTargets) {
            status = Fail(ContentErrc::kTooMany, "a receipt names too many messages");
            return;
          }
          WriteBytesField(w, field::kReceipt, Nested([&](ByteWriter& n) {
                            WriteVarintField(n, field::kReceiptKind, static_cast<std::uint32_t>(body.kind));
                            for (const ContentId& t : body.targets) WriteId(n, field::kReceiptTarget, t);
                          }));
        } else if constexpr (std::is_same_v<T, TypingBody>) {
          WriteBytesField(w, field::kTyping, Nested([&](ByteWriter& n) {
                            WriteVarintField(n, field::kOnly, body.started ? 1 : 0);
                          }));
        } else if constexpr (std::is_same_v<T, TimerBody>) {
          if (body.seconds > kMaxDisappearingSeconds) {
            status = OutOfRange();
            return;
          }
          WriteBytesField(w, field::kTimer,
                          Nested([&](ByteWriter& n) { WriteVarintField(n, field::kOnly, body.seconds); }));
        } else if constexpr (std::is_same_v<T, GroupUpdateBody>) {
          WriteBytesField(w, field::kGroupUpdate, std::vector<std::uint8_t>{});
        } else if constexpr (std::is_same_v<T, ContactSyncBody>) {
          status = WriteContactSync(w, body);
        } else if constexpr (std::is_same_v<T, SyncRequestBody>) {
          if (body.kind != SyncRequestKind::kContactsAndGroups) {
            status = OutOfRange();
            return;
          }
          WriteBytesField(w, field::kSyncRequest, Nested([&](ByteWriter& n) {
                            WriteVarintField(n, field::kOnly, static_cast<std::uint32_t>(body.kind));
                            if (body.any_device) WriteVarintField(n, field::kSyncAnyDevice, 1);
                          }));
        } else {
          if (body.message.empty()) {
            status = Missing();
            return;
          }
          if (body.message.size() > kMaxSenderKeyDistributionBytes) {
            status = TooLarge();
            return;
          }
          SecretBuffer nested(
              Nested([&](ByteWriter& n) { WriteBytesField(n, field::kOnly, body.message.bytes()); }));
          WriteBytesField(w, field::kSenderKeyDistribution, nested.bytes());
        }
      },
      c.body);
  if (!status) {
    std::vector<std::uint8_t> partial = w.Take();
    WipeMemory(partial.data(), partial.size());
    return tl::unexpected(status.error());
  }
  std::vector<std::uint8_t> out = w.Take();
  SecretBuffer result(out);
  WipeMemory(out.data(), out.size());
  if (result.size() > kMaxContentBytes) return TooLarge();
  return result;
}

ContentResult<GroupEnvelope> DecodeGroupEnvelope(Bytes bytes) {
  ByteReader reader(bytes);
  GroupEnvelope out;
  if (!reader.CopyBytes(out.group)) {
    return Fail(ContentErrc::kBadLength, "a group envelope is shorter than its group id");
  }
  out.message = reader.rest();
  if (out.message.empty()) return Fail(ContentErrc::kMissingField, "a group envelope has no message");
  return out;
}

std::vector<std::uint8_t> EncodeGroupEnvelope(const ContentId& group, Bytes message) {
  std::vector<std::uint8_t> out(group.begin(), group.end());
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

}  // namespace parley::client
