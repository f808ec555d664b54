// Signatures on group changes (docs/client.md, "Groups", "Signed changes").
//
// Every change a device makes is signed with that device's identity key
// (XEdDSA, as the signed prekey is), so a change an admin or another device
// passes on is taken only when its author device made it. The signature
// covers GroupChangeSignedBytes: a domain-separation label, the group id,
// the stamp and the operations in their canonical encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/rng.h"
#include "client/content.h"
#include "client/group_state.h"
#include "crypto/x25519.h"

namespace parley::client {

// The 32 bytes every signed group change starts with.
inline constexpr char kGroupChangeSignatureLabel[] = "Parley group change signature v1";

// label(32) || group id(16) || version u64 BE || author account(16) || author device u32 BE ||
// ops length u32 BE || EncodeGroupOps(ops). The content format's errors when
// the operations break its rules (such a change is never sent nor taken).
ContentResult<std::vector<std::uint8_t>> GroupChangeSignedBytes(const ContentId& group,
                                                                const GroupChange& change);

// `change` with its signature by `identity` (its author device's identity
// key pair); the content format's errors as GroupChangeSignedBytes.
ContentResult<GroupChange> SignGroupChange(const ContentId& group, GroupChange change,
                                           const crypto::KeyPair& identity, Rng& rng);

// True only when `change` carries a signature that `author_identity` made
// over its signed bytes for `group`.
bool VerifyGroupChange(const ContentId& group, const GroupChange& change,
                       const crypto::PublicKey& author_identity);

}  // namespace parley::client
