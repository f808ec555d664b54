// The message content format: round trips of every body and each decoder
// error, with limits tested at and past their caps.
#include "client/content.h"

#include <gtest/gtest.h>

#include "base/byte_writer.h"
#include "base/proto.h"

namespace parley::client {
namespace {

std::vector<std::uint8_t> Encode(const Content& c) {
  auto encoded = EncodeContent(c);
  EXPECT_TRUE(encoded) << (encoded ? "" : ContentErrcName(encoded.error().code));
  if (!encoded) return {};
  return {encoded->bytes().begin(), encoded->bytes().end()};
}

Content Text(std::string text) {
  Content c;
  c.message_id.fill(7);
  c.sent_at_ms = 1'700'000'000'000;
  c.body = DataBody{std::move(text), std::nullopt, std::nullopt, 0};
  return c;
}

ContentErrc DecodeError(Bytes bytes) {
  auto decoded = DecodeContent(bytes);
  EXPECT_FALSE(decoded);
  return decoded ? ContentErrc{} : decoded.error().code;
}

// A Content with id and time, then `extra` appended as raw fields.
std::vector<std::uint8_t> WithHeader(const std::vector<std::uint8_t>& extra) {
  ByteWriter w;
  WriteBytesField(w, 1, std::vector<std::uint8_t>(16, 1));
  WriteVarintField(w, 2, 5);
  w.WriteBytes(extra);
  return w.Take();
}

std::vector<std::uint8_t> Field(std::uint32_t number, const std::vector<std::uint8_t>& bytes) {
  ByteWriter w;
  WriteBytesField(w, number, bytes);
  return w.Take();
}

TEST(ContentTest, DataRoundTripsWithQuoteAttachmentGroupAndSync) {
  Content c = Text("héllo");
  auto& data = std::get<DataBody>(c.body);
  data.quote = ContentId{};
  data.quote->fill(3);
  data.expire_seconds = 3600;
  AttachmentPointer a;
  a.id.fill(9);
  a.key.bytes()[0] = 42;
  a.digest.fill(5);
  a.size = 1234;
  a.file_name = "photo.jpg";
  a.content_type = "image/jpeg";
  data.attachment = std::move(a);
  c.group = GroupContext{ContentId{}, std::string("friends"), {AccountId(Uuid()), AccountId(Uuid())}, {}, 0,
                         std::nullopt};
  c.sync_destination = AccountId(Uuid());
  c.sender_username = "alice";
  c.destination_username = "bob";
  auto decoded = DecodeContent(Encode(c));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->message_id, c.message_id);
  EXPECT_EQ(decoded->sent_at_ms, c.sent_at_ms);
  EXPECT_EQ(decoded->sender_username, "alice");
  EXPECT_EQ(decoded->destination_username, "bob");
  ASSERT_TRUE(decoded->group);
  EXPECT_EQ(decoded->group->name, "friends");
  EXPECT_EQ(decoded->group->members.size(), 2u);
  const auto& d = std::get<DataBody>(decoded->body);
  EXPECT_EQ(d.text, "héllo");
  EXPECT_EQ(d.quote, data.quote);
  EXPECT_EQ(d.expire_seconds, 3600u);
  ASSERT_TRUE(d.attachment);
  EXPECT_EQ(d.attachment->size, 1234u);
  EXPECT_EQ(d.attachment->key.bytes()[0], 42);
  EXPECT_EQ(d.attachment->file_name, "photo.jpg");
}

TEST(ContentTest, EveryOtherBodyRoundTrips) {
  ContentId target{};
  target.fill(4);
  std::vector<ContentBody> bodies;
  bodies.emplace_back(ReactionBody{target, "+1"});
  bodies.emplace_back(EditBody{target, "fixed"});
  bodies.emplace_back(DeleteBody{target});
  bodies.emplace_back(ReceiptBody{ReceiptKind::kRead, {target, target}});
  bodies.emplace_back(TypingBody{true});
  bodies.emplace_back(TimerBody{60});
  std::vector<std::uint8_t> skdm = {0x33, 1, 2, 3};
  bodies.emplace_back(SenderKeyDistributionBody{SecretBuffer(skdm)});
  for (auto& body : bodies) {
    Content c = Text("x");
    const std::size_t index = body.index();
    c.body = std::move(body);
    auto decoded = DecodeContent(Encode(c));
    ASSERT_TRUE(decoded) << index;
    EXPECT_EQ(decoded->body.index(), index);
  }
  Content c = Text("x");
  c.body = ReceiptBody{ReceiptKind::kDelivered, {target}};
  auto receipt = DecodeContent(Encode(c));
  ASSERT_TRUE(receipt);
  EXPECT_EQ(std::get<ReceiptBody>(receipt->body).kind, ReceiptKind::kDelivered);
  c.body = TypingBody{false};
  auto typing = DecodeContent(Encode(c));
  ASSERT_TRUE(typing);
  EXPECT_FALSE(std::get<TypingBody>(typing->body).started);
}

TEST(ContentTest, TextAtAndPastItsCap) {
  EXPECT_TRUE(EncodeContent(Text(std::string(kMaxTextBytes, 'a'))));
  auto over = EncodeContent(Text(std::string(kMaxTextBytes + 1, 'a')));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ContentErrc::kTooLarge);
  const auto bytes = WithHeader(Field(10, Field(1, std::vector<std::uint8_t>(kMaxTextBytes + 1, 'a'))));
  EXPECT_EQ(DecodeError(bytes), ContentErrc::kTooLarge);
}

TEST(ContentTest, WholeContentPastItsCap) {
  std::vector<std::uint8_t> big(kMaxContentBytes + 1, 0);
  EXPECT_EQ(DecodeError(big), ContentErrc::kTooLarge);
}

TEST(ContentTest, ReceiptTargetsAtAndPastTheirCap) {
  Content c = Text("x");
  c.body = ReceiptBody{ReceiptKind::kRead, std::vector<ContentId>(kMaxReceiptTargets)};
  EXPECT_TRUE(DecodeContent(Encode(c)));
  std::vector<std::uint8_t> receipt;
  ByteWriter w;
  WriteVarintField(w, 1, 2);
  for (std::size_t i = 0; i <= kMaxReceiptTargets; ++i)
    WriteBytesField(w, 2, std::vector<std::uint8_t>(16, 0));
  EXPECT_EQ(DecodeError(WithHeader(Field(14, w.Take()))), ContentErrc::kTooMany);
  c.body = ReceiptBody{ReceiptKind::kRead, std::vector<ContentId>(kMaxReceiptTargets + 1)};
  EXPECT_FALSE(EncodeContent(c));
}

TEST(ContentTest, GroupMembersAtAndPastTheirCap) {
  Content c = Text("x");
  c.group = GroupContext{ContentId{}, std::string("g"), std::vector<AccountId>(kMaxGroupMembers), {},
                         0,           std::nullopt};
  EXPECT_TRUE(DecodeContent(Encode(c)));
  c.group->members.push_back(AccountId());
  auto over = EncodeContent(c);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ContentErrc::kTooMany);
}

TEST(ContentTest, GroupUpdateRoundTripsWithAdmins) {
  Content c = Text("x");
  const AccountId a(Uuid::Parse("11111111-1111-4111-8111-111111111111").value());
  const AccountId b(Uuid::Parse("22222222-2222-4222-8222-222222222222").value());
  ContentId id{};
  id.fill(9);
  c.group = GroupContext{id, std::string("team"), {a, b}, {b}, 0, std::nullopt};
  c.body = GroupUpdateBody{};
  auto decoded = DecodeContent(Encode(c));
  ASSERT_TRUE(decoded);
  ASSERT_TRUE(decoded->group);
  EXPECT_EQ(decoded->group->id, id);
  EXPECT_EQ(decoded->group->name, "team");
  EXPECT_EQ(decoded->group->members, (std::vector<AccountId>{a, b}));
  EXPECT_EQ(decoded->group->admins, std::vector<AccountId>{b});
  EXPECT_TRUE(std::holds_alternative<GroupUpdateBody>(decoded->body));
}

TEST(ContentTest, GroupVersionAndAuthorRoundTrip) {
  Content c = Text("x");
  const AccountId a(Uuid::Parse("11111111-1111-4111-8111-111111111111").value());
  c.group = GroupContext{ContentId{}, std::string("team"), {a}, {a}, 42, a};
  c.body = GroupUpdateBody{};
  auto decoded = DecodeContent(Encode(c));
  ASSERT_TRUE(decoded && decoded->group);
  EXPECT_EQ(decoded->group->version, 42u);
  EXPECT_EQ(decoded->group->author, a);
  // Absent: version 0, no author.
  c.group = GroupContext{ContentId{}, std::string("team"), {a}, {a}, 0, std::nullopt};
  decoded = DecodeContent(Encode(c));
  ASSERT_TRUE(decoded && decoded->group);
  EXPECT_EQ(decoded->group->version, 0u);
  EXPECT_FALSE(decoded->group->author);
  c.group->version = static_cast<std::uint64_t>(INT64_MAX) + 1;
  auto encoded = EncodeContent(c);
  ASSERT_FALSE(encoded);
  EXPECT_EQ(encoded.error().code, ContentErrc::kOutOfRange);
}

TEST(ContentTest, GroupVersionAndAuthorErrors) {
  const auto group_with = [](const std::vector<std::uint8_t>& extra) {
    ByteWriter g;
    WriteBytesField(g, 1, std::vector<std::uint8_t>(16, 1));
    g.WriteBytes(extra);
    auto out = Field(3, g.Take());
    const auto update = Field(18, {});
    out.insert(out.end(), update.begin(), update.end());
    return WithHeader(out);
  };
  const auto version = [](std::uint64_t v) {
    ByteWriter w;
    WriteVarintField(w, 5, v);
    return w.Take();
  };
  EXPECT_EQ(DecodeError(group_with(version(0))), ContentErrc::kOutOfRange);
  EXPECT_EQ(DecodeError(group_with(version(static_cast<std::uint64_t>(INT64_MAX) + 1))),
            ContentErrc::kOutOfRange);
  auto twice = version(3);
  const auto again = version(4);
  twice.insert(twice.end(), again.begin(), again.end());
  EXPECT_EQ(DecodeError(group_with(twice)), ContentErrc::kDuplicateField);
  EXPECT_EQ(DecodeError(group_with(Field(5, {1}))), ContentErrc::kWrongWireType);
  EXPECT_EQ(DecodeError(group_with(Field(6, std::vector<std::uint8_t>(15, 1)))), ContentErrc::kBadLength);
  auto author = DecodeContent(group_with(Field(6, std::vector<std::uint8_t>(16, 1))));
  ASSERT_TRUE(author && author->group && author->group->author);
}

TEST(ContentTest, GroupAdminsPastTheirCap) {
  ByteWriter group;
  WriteBytesField(group, 1, std::vector<std::uint8_t>(16, 1));
  for (std::size_t i = 0; i <= kMaxGroupMembers; ++i)
    WriteBytesField(group, 4, std::vector<std::uint8_t>(16, 2));
  std::vector<std::uint8_t> extra = Field(3, group.Take());
  const auto body = Field(18, {});
  extra.insert(extra.end(), body.begin(), body.end());
  EXPECT_EQ(DecodeError(WithHeader(extra)), ContentErrc::kTooMany);
  Content c = Text("x");
  c.group = GroupContext{ContentId{}, std::string("g"), {}, std::vector<AccountId>(kMaxGroupMembers + 1),
                         0,           std::nullopt};
  EXPECT_FALSE(EncodeContent(c));
}

AccountId AccountOf(std::uint8_t n) {
  std::array<std::uint8_t, 16> bytes{};
  bytes.fill(n);
  return AccountId(Uuid(bytes));
}

TEST(ContentTest, GroupChangesRoundTrip) {
  const AccountId a = AccountOf(1);
  const AccountId b = AccountOf(2);
  Content c = Text("x");
  c.body = GroupUpdateBody{};
  c.group = GroupContext{ContentId{}, std::nullopt, {}, {}, 0, std::nullopt};
  c.group->changes = {
      GroupSnapshot(GroupStamp{1, a, 7}, "team", {a, b}, {a}),
      GroupChange{GroupStamp{2, b, 0}, {GroupOp{GroupOpKind::kLeave, b, {}}}},
      GroupChange{GroupStamp{kMaxGroupVersion, a, static_cast<std::uint32_t>(INT32_MAX)},
                  {GroupOp{GroupOpKind::kRevokeAdmin, b, {}}, GroupOp{GroupOpKind::kMakeAdmin, b, {}},
                   GroupOp{GroupOpKind::kRemove, b, {}}, GroupOp{GroupOpKind::kAdd, b, {}},
                   GroupOp{GroupOpKind::kRename, AccountId{}, std::string(kMaxGroupNameBytes, 'n')}}},
  };
  c.group->changes[0].signature.emplace();
  c.group->changes[0].signature->fill(0x5a);
  auto decoded = DecodeContent(Encode(c));
  ASSERT_TRUE(decoded && decoded->group);
  EXPECT_EQ(decoded->group->changes, c.group->changes);
  EXPECT_TRUE(decoded->group->changes[0].signature);
  EXPECT_FALSE(decoded->group->changes[1].signature);
  EXPECT_TRUE(std::holds_alternative<GroupUpdateBody>(decoded->body));

  auto ops = EncodeGroupOps(c.group->changes[2].ops);
  ASSERT_TRUE(ops);
  auto back = DecodeGroupOps(*ops);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c.group->changes[2].ops);
}

TEST(ContentTest, GroupChangesTheEncoderRefuses) {
  const AccountId a = AccountOf(1);
  Content c = Text("x");
  c.group = GroupContext{ContentId{}, std::nullopt, {}, {}, 0, std::nullopt};
  const auto refused = [&](GroupChange change) {
    c.group->changes = {std::move(change)};
    auto encoded = EncodeContent(c);
    return encoded ? ContentErrc{} : encoded.error().code;
  };
  const GroupOp add{GroupOpKind::kAdd, a, {}};
  EXPECT_EQ(refused({GroupStamp{0, a, 1}, {add}}), ContentErrc::kOutOfRange);
  EXPECT_EQ(refused({GroupStamp{kMaxGroupVersion + 1, a, 1}, {add}}), ContentErrc::kOutOfRange);
  EXPECT_EQ(refused({GroupStamp{1, a, static_cast<std::uint32_t>(INT32_MAX) + 1}, {add}}),
            ContentErrc::kOutOfRange);
  EXPECT_EQ(refused({GroupStamp{1, a, 1}, {}}), ContentErrc::kMissingField);
  EXPECT_EQ(refused({GroupStamp{1, a, 1}, {GroupOp{GroupOpKind::kRename, a, {}}}}),
            ContentErrc::kMissingField);
  EXPECT_EQ(refused({GroupStamp{1, a, 1}, {GroupOp{GroupOpKind::kRename, a, std::string(129, 'n')}}}),
            ContentErrc::kTooLarge);
  EXPECT_EQ(refused({GroupStamp{1, a, 1}, {GroupOp{GroupOpKind::kRename, a, "\xff"}}}),
            ContentErrc::kInvalidText);
  EXPECT_EQ(refused({GroupStamp{1, a, 1}, {GroupOp{static_cast<GroupOpKind>(7), a, {}}}}),
            ContentErrc::kOutOfRange);
  EXPECT_EQ(refused({GroupStamp{1, a, 1}, std::vector<GroupOp>(kMaxGroupOpsPerChange + 1, add)}),
            ContentErrc::kTooMany);
  EXPECT_EQ(refused({GroupStamp{1, a, 1}, std::vector<GroupOp>(kMaxGroupOpsPerChange, add)}), ContentErrc{});
  c.group->changes.assign(kMaxGroupChangesPerContent + 1, GroupChange{GroupStamp{1, a, 1}, {add}});
  EXPECT_FALSE(EncodeContent(c));
  c.group->changes.pop_back();
  EXPECT_TRUE(EncodeContent(c));
  EXPECT_FALSE(EncodeGroupOps({}));
}

// A group update whose context holds `change` (raw GroupChange fields).
std::vector<std::uint8_t> UpdateWithChange(const std::vector<std::uint8_t>& change) {
  ByteWriter g;
  WriteBytesField(g, 1, std::vector<std::uint8_t>(16, 1));
  WriteBytesField(g, 7, change);
  auto out = Field(3, g.Take());
  const auto update = Field(18, {});
  out.insert(out.end(), update.begin(), update.end());
  return WithHeader(out);
}

std::vector<std::uint8_t> RawOp(std::optional<std::uint64_t> kind,
                                std::optional<std::vector<std::uint8_t>> target,
                                std::optional<std::string> name) {
  ByteWriter w;
  if (kind) WriteVarintField(w, 1, *kind);
  if (target) WriteBytesField(w, 2, *target);
  if (name) WriteStringField(w, 3, *name);
  return w.Take();
}

std::vector<std::uint8_t> RawChange(std::optional<std::uint64_t> version, std::optional<std::uint64_t> device,
                                    const std::vector<std::vector<std::uint8_t>>& ops) {
  ByteWriter w;
  if (version) WriteVarintField(w, 1, *version);
  WriteBytesField(w, 2, std::vector<std::uint8_t>(16, 3));
  if (device) WriteVarintField(w, 3, *device);
  for (const auto& op : ops) WriteBytesField(w, 4, op);
  return w.Take();
}

TEST(ContentTest, GroupChangeDecoderErrors) {
  const std::vector<std::uint8_t> id(16, 2);
  const auto add = RawOp(1, id, std::nullopt);
  auto good = DecodeContent(UpdateWithChange(RawChange(4, 2, {add})));
  ASSERT_TRUE(good && good->group && good->group->changes.size() == 1u);
  EXPECT_EQ(good->group->changes[0].stamp.version, 4u);
  EXPECT_EQ(good->group->changes[0].stamp.device, 2u);
  // Each kind keeps only its operand.
  auto both =
      DecodeContent(UpdateWithChange(RawChange(4, std::nullopt, {RawOp(4, id, "n"), RawOp(1, id, "n")})));
  ASSERT_TRUE(both && both->group);
  EXPECT_EQ(both->group->changes[0].ops[0], (GroupOp{GroupOpKind::kRename, AccountId{}, "n"}));
  EXPECT_EQ(
      both->group->changes[0].ops[1],
      (GroupOp{GroupOpKind::kAdd,
               AccountId(Uuid(std::array<std::uint8_t, 16>{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2})),
               {}}));

  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(std::nullopt, 1, {add}))), ContentErrc::kMissingField);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(0, 1, {add}))), ContentErrc::kOutOfRange);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(kMaxGroupVersion + 1, 1, {add}))),
            ContentErrc::kOutOfRange);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, std::uint64_t{INT32_MAX} + 1, {add}))),
            ContentErrc::kOutOfRange);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {}))), ContentErrc::kMissingField);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {RawOp(std::nullopt, id, std::nullopt)}))),
            ContentErrc::kMissingField);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {RawOp(0, id, std::nullopt)}))),
            ContentErrc::kOutOfRange);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {RawOp(7, id, std::nullopt)}))),
            ContentErrc::kOutOfRange);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {RawOp(5, std::nullopt, std::nullopt)}))),
            ContentErrc::kMissingField);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {RawOp(4, std::nullopt, "")}))),
            ContentErrc::kMissingField);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {RawOp(4, std::nullopt, std::string(129, 'n'))}))),
            ContentErrc::kTooLarge);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {RawOp(4, std::nullopt, "\xc0\x80")}))),
            ContentErrc::kInvalidText);
  EXPECT_EQ(DecodeError(UpdateWithChange(
                RawChange(1, 1, {RawOp(1, std::vector<std::uint8_t>(15, 2), std::nullopt)}))),
            ContentErrc::kBadLength);
  auto kind_twice = RawOp(1, id, std::nullopt);
  const auto kind_again = RawOp(2, std::nullopt, std::nullopt);
  kind_twice.insert(kind_twice.end(), kind_again.begin(), kind_again.end());
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {kind_twice}))), ContentErrc::kDuplicateField);
  EXPECT_EQ(DecodeError(UpdateWithChange(Field(1, {1}))), ContentErrc::kWrongWireType);
  EXPECT_EQ(DecodeError(UpdateWithChange(RawChange(1, 1, {{0x08}}))), ContentErrc::kMalformed);
  // Caps: operations per change, changes per context.
  EXPECT_EQ(DecodeError(UpdateWithChange(
                RawChange(1, 1, std::vector<std::vector<std::uint8_t>>(kMaxGroupOpsPerChange + 1, add)))),
            ContentErrc::kTooMany);
  ByteWriter g;
  WriteBytesField(g, 1, std::vector<std::uint8_t>(16, 1));
  const auto change = RawChange(1, 1, {add});
  for (std::size_t i = 0; i <= kMaxGroupChangesPerContent; ++i) WriteBytesField(g, 7, change);
  auto many = Field(3, g.Take());
  const auto update = Field(18, {});
  many.insert(many.end(), update.begin(), update.end());
  EXPECT_EQ(DecodeError(WithHeader(many)), ContentErrc::kTooMany);
  // The signature (field 5): 64 bytes, once.
  const auto with_signature = [&](const std::vector<std::vector<std::uint8_t>>& signatures) {
    auto raw = RawChange(1, 1, {add});
    for (const auto& s : signatures) {
      const auto f = Field(5, s);
      raw.insert(raw.end(), f.begin(), f.end());
    }
    return UpdateWithChange(raw);
  };
  auto signed_change = DecodeContent(with_signature({std::vector<std::uint8_t>(64, 9)}));
  ASSERT_TRUE(signed_change && signed_change->group);
  ASSERT_TRUE(signed_change->group->changes[0].signature);
  EXPECT_EQ(signed_change->group->changes[0].signature->front(), 9);
  EXPECT_EQ(DecodeError(with_signature({std::vector<std::uint8_t>(63, 9)})), ContentErrc::kBadLength);
  EXPECT_EQ(DecodeError(with_signature({std::vector<std::uint8_t>(65, 9)})), ContentErrc::kBadLength);
  EXPECT_EQ(DecodeError(with_signature({std::vector<std::uint8_t>(64, 9), std::vector<std::uint8_t>(64, 8)})),
            ContentErrc::kDuplicateField);
  auto varint_signature = RawChange(1, 1, {add});
  varint_signature.insert(varint_signature.end(), {0x28, 0x01});  // 5: a varint
  EXPECT_EQ(DecodeError(UpdateWithChange(varint_signature)), ContentErrc::kWrongWireType);
  // A field this version does not know (6) is skipped, as an older reader
  // skips the signature.
  auto unknown_field = RawChange(1, 1, {add});
  const auto later = Field(6, {1, 2, 3});
  unknown_field.insert(unknown_field.end(), later.begin(), later.end());
  auto skipped = DecodeContent(UpdateWithChange(unknown_field));
  ASSERT_TRUE(skipped && skipped->group);
  EXPECT_EQ(skipped->group->changes[0].ops.size(), 1u);
  // The store's form: operations alone.
  EXPECT_EQ(DecodeGroupOps({}).error().code, ContentErrc::kMissingField);
  const auto malformed = std::vector<std::uint8_t>{0x22, 0x05};
  EXPECT_EQ(DecodeGroupOps(malformed).error().code, ContentErrc::kMalformed);
}

TEST(ContentTest, GroupEnvelope) {
  ContentId id{};
  id.fill(3);
  const std::vector<std::uint8_t> message = {0x33, 1, 2, 3};
  const auto bytes = EncodeGroupEnvelope(id, message);
  ASSERT_EQ(bytes.size(), 20u);
  auto decoded = DecodeGroupEnvelope(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->group, id);
  EXPECT_TRUE(std::equal(decoded->message.begin(), decoded->message.end(), message.begin(), message.end()));

  auto short_one = DecodeGroupEnvelope(Bytes(bytes).first(15));
  ASSERT_FALSE(short_one);
  EXPECT_EQ(short_one.error().code, ContentErrc::kBadLength);
  auto empty = DecodeGroupEnvelope(Bytes(bytes).first(16));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ContentErrc::kMissingField);
  EXPECT_FALSE(DecodeGroupEnvelope(Bytes()));
}

TEST(ContentTest, DisappearingTimerAtAndPastItsCap) {
  Content c = Text("x");
  c.body = TimerBody{kMaxDisappearingSeconds};
  EXPECT_TRUE(DecodeContent(Encode(c)));
  ByteWriter w;
  WriteVarintField(w, 1, kMaxDisappearingSeconds + 1ull);
  EXPECT_EQ(DecodeError(WithHeader(Field(16, w.Take()))), ContentErrc::kOutOfRange);
}

TEST(ContentTest, MalformedBytes) {
  const std::vector<std::uint8_t> truncated = {0x0a, 0x10, 0x01};
  EXPECT_EQ(DecodeError(truncated), ContentErrc::kMalformed);
  const std::vector<std::uint8_t> group = {0x0b};  // wire type 3
  EXPECT_EQ(DecodeError(group), ContentErrc::kMalformed);
}

TEST(ContentTest, WrongWireType) {
  ByteWriter w;
  WriteVarintField(w, 1, 5);  // the message id as a varint
  EXPECT_EQ(DecodeError(w.Take()), ContentErrc::kWrongWireType);
}

TEST(ContentTest, DuplicateField) {
  ByteWriter w;
  WriteVarintField(w, 2, 5);
  EXPECT_EQ(DecodeError(WithHeader(w.Take())), ContentErrc::kDuplicateField);
}

TEST(ContentTest, MissingFields) {
  ByteWriter w;
  WriteVarintField(w, 2, 5);
  const auto text_body = Field(10, Field(1, {'h', 'i'}));
  w.WriteBytes(text_body);
  EXPECT_EQ(DecodeError(w.Take()), ContentErrc::kMissingField);                   // no message id
  EXPECT_EQ(DecodeError(WithHeader(Field(10, {}))), ContentErrc::kMissingField);  // no text or attachment
  EXPECT_EQ(DecodeError(WithHeader(Field(12, Field(1, std::vector<std::uint8_t>(16, 0))))),
            ContentErrc::kMissingField);  // an edit without text
}

TEST(ContentTest, NoBodyAndMultipleBodies) {
  EXPECT_EQ(DecodeError(WithHeader({})), ContentErrc::kNoBody);
  ByteWriter unknown;
  WriteVarintField(unknown, 99, 1);  // unknown fields are skipped
  EXPECT_EQ(DecodeError(WithHeader(unknown.Take())), ContentErrc::kNoBody);
  auto two = Field(10, Field(1, {'a'}));
  const auto typing = Field(15, {0x08, 0x01});
  two.insert(two.end(), typing.begin(), typing.end());
  EXPECT_EQ(DecodeError(WithHeader(two)), ContentErrc::kMultipleBodies);
}

TEST(ContentTest, BadLength) {
  ByteWriter w;
  WriteBytesField(w, 1, std::vector<std::uint8_t>(15, 1));
  EXPECT_EQ(DecodeError(w.Take()), ContentErrc::kBadLength);
}

TEST(ContentTest, InvalidText) {
  const std::vector<std::uint8_t> overlong = {0xC0, 0xAF};
  EXPECT_EQ(DecodeError(WithHeader(Field(10, Field(1, overlong)))), ContentErrc::kInvalidText);
  EXPECT_FALSE(EncodeContent(Text("\xED\xA0\x80")));  // a surrogate
  EXPECT_TRUE(IsWellFormedUtf8("\xF0\x9F\x91\x8D"));
  EXPECT_FALSE(IsWellFormedUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

TEST(ContentTest, AttachmentSizeRange) {
  ByteWriter a;
  WriteBytesField(a, 1, std::vector<std::uint8_t>(16, 0));
  WriteBytesField(a, 2, std::vector<std::uint8_t>(64, 0));
  WriteBytesField(a, 3, std::vector<std::uint8_t>(32, 0));
  WriteVarintField(a, 4, kMaxAttachmentBytes + 1);
  EXPECT_EQ(DecodeError(WithHeader(Field(10, Field(3, a.Take())))), ContentErrc::kOutOfRange);
}

// ---- contact sync (field 19) ----

SyncedContact Synced(std::uint8_t fill) {
  SyncedContact c;
  std::array<std::uint8_t, Uuid::kSize> id{};
  id.fill(fill);
  c.account = AccountId(Uuid(id));
  c.username = "bob";
  c.state = store::ContactState::kBlocked;
  c.verified = true;
  SyncedIdentity identity;
  identity.device = DeviceId(2);
  identity.key.fill(5);
  c.identities.push_back(identity);
  return c;
}

// A SyncedContact with the given raw fields, inside a contact-sync body.
std::vector<std::uint8_t> SyncWith(const std::vector<std::uint8_t>& contact_fields) {
  return Field(1, contact_fields);
}

std::vector<std::uint8_t> AccountAndState() {
  ByteWriter w;
  WriteBytesField(w, 1, std::vector<std::uint8_t>(16, 4));
  WriteVarintField(w, 3, 1);
  return w.Take();
}

ContentErrc SyncError(const std::vector<std::uint8_t>& bytes) {
  auto decoded = DecodeContactSync(bytes);
  EXPECT_FALSE(decoded);
  // The same rules hold inside a whole content.
  auto whole = DecodeContent(WithHeader(Field(19, bytes)));
  EXPECT_FALSE(whole);
  if (decoded || whole) return ContentErrc{};
  EXPECT_EQ(decoded.error().code, whole.error().code);
  return decoded.error().code;
}

TEST(ContentTest, ContactSyncRoundTrips) {
  Content c = Text("x");
  ContactSyncBody body;
  body.contacts = {Synced(1), Synced(2)};
  body.contacts[1].username.clear();
  body.contacts[1].state = store::ContactState::kRequest;
  body.contacts[1].verified = false;
  body.contacts[1].identities.clear();
  body.snapshot = true;
  c.body = body;
  auto decoded = DecodeContent(Encode(c));
  ASSERT_TRUE(decoded) << ContentErrcName(decoded.error().code);
  const auto* got = std::get_if<ContactSyncBody>(&decoded->body);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->contacts, body.contacts);
  EXPECT_TRUE(got->snapshot);
}

TEST(ContentTest, ContactSyncContactsAtAndPastTheirCap) {
  Content c = Text("x");
  ContactSyncBody body;
  body.contacts.assign(kMaxSyncedContacts, Synced(1));
  c.body = body;
  const auto at_cap = Encode(c);
  ASSERT_TRUE(DecodeContent(at_cap));
  body.contacts.push_back(Synced(1));
  c.body = body;
  auto refused = EncodeContent(c);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ContentErrc::kTooMany);
  std::vector<std::uint8_t> over;
  for (std::size_t i = 0; i <= kMaxSyncedContacts; ++i) {
    const auto one = SyncWith(AccountAndState());
    over.insert(over.end(), one.begin(), one.end());
  }
  EXPECT_EQ(SyncError(over), ContentErrc::kTooMany);
}

TEST(ContentTest, ContactSyncIdentitiesAtAndPastTheirCap) {
  Content c = Text("x");
  ContactSyncBody body;
  body.contacts = {Synced(1)};
  body.contacts[0].identities.assign(kMaxSyncedIdentities, body.contacts[0].identities[0]);
  c.body = body;
  ASSERT_TRUE(DecodeContent(Encode(c)));
  body.contacts[0].identities.push_back(body.contacts[0].identities[0]);
  c.body = body;
  ASSERT_FALSE(EncodeContent(c));
  ByteWriter identity;
  WriteVarintField(identity, 1, 1);
  WriteBytesField(identity, 2, std::vector<std::uint8_t>(33, 5));
  auto fields = AccountAndState();
  for (std::size_t i = 0; i <= kMaxSyncedIdentities; ++i) {
    const auto one = Field(5, identity.Take());
    fields.insert(fields.end(), one.begin(), one.end());
    WriteVarintField(identity, 1, 1);
    WriteBytesField(identity, 2, std::vector<std::uint8_t>(33, 5));
  }
  EXPECT_EQ(SyncError(SyncWith(fields)), ContentErrc::kTooMany);
}

TEST(ContentTest, ContactSyncErrors) {
  // No contact at all.
  EXPECT_EQ(SyncError({}), ContentErrc::kMissingField);
  // Truncated.
  EXPECT_EQ(SyncError({0x0a, 0x05, 0x01}), ContentErrc::kMalformed);
  // A contact as a varint.
  EXPECT_EQ(SyncError({0x08, 0x01}), ContentErrc::kWrongWireType);
  // A contact without its state, or without its account.
  {
    ByteWriter w;
    WriteBytesField(w, 1, std::vector<std::uint8_t>(16, 4));
    EXPECT_EQ(SyncError(SyncWith(w.Take())), ContentErrc::kMissingField);
    WriteVarintField(w, 3, 1);
    EXPECT_EQ(SyncError(SyncWith(w.Take())), ContentErrc::kMissingField);
  }
  // An account id of 15 bytes.
  {
    ByteWriter w;
    WriteBytesField(w, 1, std::vector<std::uint8_t>(15, 4));
    WriteVarintField(w, 3, 1);
    EXPECT_EQ(SyncError(SyncWith(w.Take())), ContentErrc::kBadLength);
  }
  // A state past blocked, a verified flag past 1, a snapshot flag past 1.
  for (auto [number, value] : {std::pair{3u, 3u}, std::pair{4u, 2u}}) {
    ByteWriter w;
    WriteBytesField(w, 1, std::vector<std::uint8_t>(16, 4));
    if (number != 3) WriteVarintField(w, 3, 1);
    WriteVarintField(w, number, value);
    EXPECT_EQ(SyncError(SyncWith(w.Take())), ContentErrc::kOutOfRange);
  }
  {
    auto bytes = SyncWith(AccountAndState());
    ByteWriter w;
    WriteVarintField(w, 2, 2);
    const auto flag = w.Take();
    bytes.insert(bytes.end(), flag.begin(), flag.end());
    EXPECT_EQ(SyncError(bytes), ContentErrc::kOutOfRange);
  }
  // The state twice.
  {
    auto fields = AccountAndState();
    ByteWriter w;
    WriteVarintField(w, 3, 2);
    const auto again = w.Take();
    fields.insert(fields.end(), again.begin(), again.end());
    EXPECT_EQ(SyncError(SyncWith(fields)), ContentErrc::kDuplicateField);
  }
  // A username past 32 bytes, and one that is not UTF-8.
  {
    auto fields = AccountAndState();
    const auto name = Field(2, std::vector<std::uint8_t>(33, 'a'));
    fields.insert(fields.end(), name.begin(), name.end());
    EXPECT_EQ(SyncError(SyncWith(fields)), ContentErrc::kTooLarge);
    auto bad = AccountAndState();
    const auto invalid = Field(2, {0xff, 0xfe});
    bad.insert(bad.end(), invalid.begin(), invalid.end());
    EXPECT_EQ(SyncError(SyncWith(bad)), ContentErrc::kInvalidText);
  }
  // Identities: device 0, a key of 32 bytes, no key.
  {
    ByteWriter zero;
    WriteVarintField(zero, 1, 0);
    WriteBytesField(zero, 2, std::vector<std::uint8_t>(33, 5));
    ByteWriter short_key;
    WriteVarintField(short_key, 1, 1);
    WriteBytesField(short_key, 2, std::vector<std::uint8_t>(32, 5));
    ByteWriter no_key;
    WriteVarintField(no_key, 1, 1);
    for (auto [identity, code] : {std::pair{zero.Take(), ContentErrc::kOutOfRange},
                                  std::pair{short_key.Take(), ContentErrc::kBadLength},
                                  std::pair{no_key.Take(), ContentErrc::kMissingField}}) {
      auto fields = AccountAndState();
      const auto one = Field(5, identity);
      fields.insert(fields.end(), one.begin(), one.end());
      EXPECT_EQ(SyncError(SyncWith(fields)), code);
    }
  }
}

TEST(ContentTest, SyncRequestRoundTrips) {
  Content c = Text("");
  c.body = SyncRequestBody{SyncRequestKind::kContactsAndGroups};
  auto decoded = DecodeContent(Encode(c));
  ASSERT_TRUE(decoded) << ContentErrcName(decoded.error().code);
  const auto* got = std::get_if<SyncRequestBody>(&decoded->body);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->kind, SyncRequestKind::kContactsAndGroups);
  EXPECT_FALSE(got->any_device);
  // Asked again, for any device that holds the state.
  c.body = SyncRequestBody{SyncRequestKind::kContactsAndGroups, true};
  decoded = DecodeContent(Encode(c));
  ASSERT_TRUE(decoded) << ContentErrcName(decoded.error().code);
  got = std::get_if<SyncRequestBody>(&decoded->body);
  ASSERT_NE(got, nullptr);
  EXPECT_TRUE(got->any_device);
  // A kind this version does not know is not sent.
  c.body = SyncRequestBody{static_cast<SyncRequestKind>(2)};
  auto refused = EncodeContent(c);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ContentErrc::kOutOfRange);
}

TEST(ContentTest, SyncRequestErrors) {
  auto request = [](const std::vector<std::uint8_t>& inner) { return WithHeader(Field(20, inner)); };
  auto kind = [](std::uint64_t value) {
    ByteWriter w;
    WriteVarintField(w, 1, value);
    return w.Take();
  };
  // No kind, kind 0, a kind past the known ones.
  EXPECT_EQ(DecodeError(request({})), ContentErrc::kMissingField);
  EXPECT_EQ(DecodeError(request(kind(0))), ContentErrc::kOutOfRange);
  EXPECT_EQ(DecodeError(request(kind(2))), ContentErrc::kOutOfRange);
  // The kind twice, the kind as bytes, truncated.
  auto twice = kind(1);
  const auto again = kind(1);
  twice.insert(twice.end(), again.begin(), again.end());
  EXPECT_EQ(DecodeError(request(twice)), ContentErrc::kDuplicateField);
  EXPECT_EQ(DecodeError(request(Field(1, {0x01}))), ContentErrc::kWrongWireType);
  EXPECT_EQ(DecodeError(request({0x08})), ContentErrc::kMalformed);
  // The any-device mark: past 1, twice, as bytes; without the kind.
  const auto any_device = [&](std::uint64_t value) {
    auto inner = kind(1);
    ByteWriter w;
    WriteVarintField(w, 2, value);
    const auto mark = w.Take();
    inner.insert(inner.end(), mark.begin(), mark.end());
    return inner;
  };
  EXPECT_EQ(DecodeError(request(any_device(2))), ContentErrc::kOutOfRange);
  {
    auto twice_marked = any_device(1);
    ByteWriter w;
    WriteVarintField(w, 2, 0);
    const auto again_marked = w.Take();
    twice_marked.insert(twice_marked.end(), again_marked.begin(), again_marked.end());
    EXPECT_EQ(DecodeError(request(twice_marked)), ContentErrc::kDuplicateField);
    auto as_bytes = kind(1);
    const auto bytes_mark = Field(2, {0x01});
    as_bytes.insert(as_bytes.end(), bytes_mark.begin(), bytes_mark.end());
    EXPECT_EQ(DecodeError(request(as_bytes)), ContentErrc::kWrongWireType);
    ByteWriter only;
    WriteVarintField(only, 2, 1);
    EXPECT_EQ(DecodeError(request(only.Take())), ContentErrc::kMissingField);
  }
  // The body as a varint, and beside another body.
  {
    ByteWriter w;
    WriteVarintField(w, 20, 1);
    EXPECT_EQ(DecodeError(WithHeader(w.Take())), ContentErrc::kWrongWireType);
  }
  auto both = Field(20, kind(1));
  const auto typing = Field(15, kind(1));
  both.insert(both.end(), typing.begin(), typing.end());
  EXPECT_EQ(DecodeError(WithHeader(both)), ContentErrc::kMultipleBodies);
  // Unknown fields inside are skipped.
  auto with_unknown = kind(1);
  const auto unknown = Field(9, {0x01, 0x02});
  with_unknown.insert(with_unknown.end(), unknown.begin(), unknown.end());
  auto decoded = DecodeContent(request(with_unknown));
  ASSERT_TRUE(decoded) << ContentErrcName(decoded.error().code);
  EXPECT_TRUE(std::holds_alternative<SyncRequestBody>(decoded->body));
}

}  // namespace
}  // namespace parley::client
