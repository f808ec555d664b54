// Writes the seed corpus of fuzz_client_content (fuzz/corpus/client_content/)
// with the real encoder: one seed per body kind; and, given a second folder,
// that of fuzz_client_contact_sync (the contact-sync body alone); and, given
// a third, that of fuzz_client_group_ops (group changes, in a content and as
// the store keeps their operations).
//   client_content_fuzz_seeds fuzz/corpus/client_content
//     fuzz/corpus/client_contact_sync fuzz/corpus/client_group_ops
#include <array>
#include <fstream>
#include <iostream>
#include <string>

#include "base/proto.h"
#include "client/content.h"

namespace {

using namespace parley::client;

bool Write(const std::string& dir, const std::string& name, const Content& c) {
  auto encoded = EncodeContent(c);
  if (!encoded) return false;
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(encoded->data()), static_cast<std::streamsize>(encoded->size()));
  return static_cast<bool>(out);
}

// The contact-sync body (field 19) of an encoded content, alone.
bool WriteContactSyncBody(const std::string& dir, const std::string& name, const Content& c) {
  auto encoded = EncodeContent(c);
  if (!encoded) return false;
  parley::ProtoReader reader(encoded->bytes());
  parley::ProtoField f;
  while (reader.Next(f)) {
    if (f.number != 19) continue;
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(f.bytes.data()), static_cast<std::streamsize>(f.bytes.size()));
    return static_cast<bool>(out);
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::cerr << "usage: client_content_fuzz_seeds CONTENT_DIR [CONTACT_SYNC_DIR [GROUP_OPS_DIR]]\n";
    return 2;
  }
  const std::string dir = argv[1];
  Content base;
  base.message_id.fill(0x11);
  base.sent_at_ms = 1'700'000'000'000;
  base.sender_username = "alice";
  ContentId target{};
  target.fill(0x22);

  bool ok = true;
  Content text = base;
  text.body = DataBody{"hello", target, std::nullopt, 3600};
  ok &= Write(dir, "text", text);

  Content attachment = base;
  AttachmentPointer pointer;
  pointer.id.fill(0x33);
  pointer.digest.fill(0x44);
  pointer.size = 1000;
  pointer.file_name = "a.txt";
  pointer.content_type = "text/plain";
  attachment.body = DataBody{"", std::nullopt, std::move(pointer), 0};
  attachment.group = GroupContext{
      target, std::string("group"), {parley::AccountId(), parley::AccountId()}, {}, 0, std::nullopt};
  ok &= Write(dir, "attachment_in_group", attachment);

  Content sync = base;
  sync.sync_destination = parley::AccountId();
  sync.destination_username = "bob";
  sync.body = DataBody{"sent elsewhere", std::nullopt, std::nullopt, 0};
  ok &= Write(dir, "sync", sync);

  Content c = base;
  c.body = ReactionBody{target, "+1"};
  ok &= Write(dir, "reaction", c);
  c.body = EditBody{target, "edited"};
  ok &= Write(dir, "edit", c);
  c.body = DeleteBody{target};
  ok &= Write(dir, "delete", c);
  c.body = ReceiptBody{ReceiptKind::kRead, {target, target}};
  ok &= Write(dir, "receipt", c);
  c.body = TypingBody{true};
  ok &= Write(dir, "typing", c);
  c.body = TimerBody{86400};
  ok &= Write(dir, "timer", c);
  const std::uint8_t skdm[] = {0x33, 0x08, 0x01};
  c.body = SenderKeyDistributionBody{parley::SecretBuffer(skdm)};
  ok &= Write(dir, "sender_key_distribution", c);
  c.body = SyncRequestBody{SyncRequestKind::kContactsAndGroups};
  ok &= Write(dir, "sync_request", c);
  c.body = SyncRequestBody{SyncRequestKind::kContactsAndGroups, true};
  ok &= Write(dir, "sync_request_any_device", c);

  Content update = base;
  update.group = GroupContext{
      target, std::string("versioned"), {parley::AccountId(), parley::AccountId()}, {parley::AccountId()},
      7,      parley::AccountId()};
  update.body = GroupUpdateBody{};
  ok &= Write(dir, "group_update_versioned", update);
  // A group's log: its creation, a leave, a grant, a revocation and a rename.
  std::array<std::uint8_t, 16> bytes{};
  bytes.fill(0xa1);
  const parley::AccountId alice{parley::Uuid(bytes)};
  bytes.fill(0xb2);
  const parley::AccountId bob{parley::Uuid(bytes)};
  bytes.fill(0xc3);
  const parley::AccountId carol{parley::Uuid(bytes)};
  Content changes = base;
  changes.group = GroupContext{target, std::nullopt, {}, {}, 0, std::nullopt};
  changes.group->changes = {
      GroupSnapshot(GroupStamp{1, alice, 1}, "team", {alice, bob, carol}, {alice}),
      GroupChange{GroupStamp{2, carol, 2}, {GroupOp{GroupOpKind::kLeave, carol, {}}}},
      GroupChange{GroupStamp{2, alice, 1}, {GroupOp{GroupOpKind::kMakeAdmin, bob, {}}}},
      GroupChange{
          GroupStamp{3, alice, 1},
          {GroupOp{GroupOpKind::kRevokeAdmin, bob, {}}, GroupOp{GroupOpKind::kRename, {}, "renamed"}}},
      GroupChange{GroupStamp{3, bob, 1}, {GroupOp{GroupOpKind::kRemove, alice, {}}}},
  };
  // Two of them signed (GroupChange field 5; the bytes are not a real signature).
  for (std::size_t i : {0u, 3u}) {
    changes.group->changes[i].signature.emplace();
    changes.group->changes[i].signature->fill(static_cast<std::uint8_t>(0x50 + i));
  }
  changes.body = GroupUpdateBody{};
  ok &= Write(dir, "group_changes", changes);
  if (argc == 4) {
    ok &= Write(argv[3], "group_changes", changes);
    for (std::size_t i = 0; i < changes.group->changes.size(); ++i) {
      auto ops = EncodeGroupOps(changes.group->changes[i].ops);
      if (!ops) return 1;
      std::ofstream out(std::string(argv[3]) + "/ops_" + std::to_string(i), std::ios::binary);
      out.write(reinterpret_cast<const char*>(ops->data()), static_cast<std::streamsize>(ops->size()));
      ok &= static_cast<bool>(out);
    }
  }
  Content group_receipt = base;
  group_receipt.group = GroupContext{target, std::nullopt, {}, {}, 0, std::nullopt};
  group_receipt.body = ReceiptBody{ReceiptKind::kDelivered, {target}};
  ok &= Write(dir, "group_receipt", group_receipt);

  ContactSyncBody contacts;
  SyncedContact verified;
  verified.account = parley::AccountId();
  verified.username = "bob";
  verified.verified = true;
  SyncedIdentity identity;
  identity.device = parley::DeviceId(1);
  identity.key.fill(0x05);
  verified.identities = {identity, identity};
  verified.identities[1].device = parley::DeviceId(2);
  SyncedContact blocked;
  blocked.account = parley::AccountId();
  blocked.state = parley::store::ContactState::kBlocked;
  contacts.contacts = {verified, blocked};
  c.body = contacts;
  ok &= Write(dir, "contact_sync", c);
  if (argc >= 3) {
    ok &= WriteContactSyncBody(argv[2], "change", c);
    contacts.snapshot = true;
    contacts.contacts[1].state = parley::store::ContactState::kRequest;
    c.body = contacts;
    ok &= WriteContactSyncBody(argv[2], "snapshot", c);
  }
  return ok ? 0 : 1;
}
