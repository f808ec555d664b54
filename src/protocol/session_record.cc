#include "protocol/session_record.h"

#include <algorithm>
#include <limits>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "protocol/limits.h"

namespace parley::protocol {

namespace {

constexpr std::size_t kSkippedEntrySize = 4 + kRatchetKeySize;

// Field numbers of the storage format; docs/protocol.md describes them.
enum RecordField : std::uint32_t { kRecordVersion = 1, kRecordCurrent = 2, kRecordPrevious = 3 };
enum StateField : std::uint32_t {
  kLocalIdentity = 1,
  kRemoteIdentity = 2,
  kLocalRegistrationId = 3,
  kRemoteRegistrationId = 4,
  kBaseKey = 5,
  kRootKey = 6,
  kSenderPrivate = 7,
  kSenderPublic = 8,
  kSenderChainKey = 9,
  kSenderChainIndex = 10,
  kPreviousCounter = 11,
  kReceiverChain = 12,
  kPendingPreKey = 13,
};
enum ChainField : std::uint32_t { kChainRatchetKey = 1, kChainKey = 2, kChainIndex = 3, kChainSkipped = 4 };
enum PendingField : std::uint32_t { kPendingPreKeyId = 1, kPendingSignedPreKeyId = 2, kPendingBaseKey = 3 };

tl::unexpected<ProtocolError> Invalid(std::string_view why) { return Fail(ProtocolErrc::kInvalidState, why); }

// Tracks which singular fields were seen, to reject repeats and find gaps.
class FieldSet {
 public:
  // False for a repeat, and for numbers no schema here uses.
  bool Add(std::uint32_t number) {
    if (number >= 32) return false;
    const std::uint32_t bit = 1u << number;
    if (seen_ & bit) return false;
    seen_ |= bit;
    return true;
  }
  bool Has(std::uint32_t number) const { return number < 32 && (seen_ & (1u << number)) != 0; }

 private:
  std::uint32_t seen_ = 0;
};

void WriteKey(ByteWriter& w, std::uint32_t field, const crypto::PublicKey& key) {
  WriteBytesField(w, field, key.Serialize());
}

bool ReadPublicKey(const ProtoField& f, crypto::PublicKey& out) {
  if (f.type != WireType::kLengthDelimited) return false;
  auto key = crypto::PublicKey::Deserialize(f.bytes);
  if (!key) return false;
  out = *key;
  return true;
}

bool ReadSecret(const ProtoField& f, SecretArray<kRatchetKeySize>& out) {
  if (f.type != WireType::kLengthDelimited || f.bytes.size() != kRatchetKeySize) return false;
  out = SecretArray<kRatchetKeySize>(
      std::span<const std::uint8_t, kRatchetKeySize>(f.bytes.data(), kRatchetKeySize));
  return true;
}

bool ReadU32(const ProtoField& f, std::uint32_t& out) {
  if (f.type != WireType::kVarint || f.value > std::numeric_limits<std::uint32_t>::max()) return false;
  out = static_cast<std::uint32_t>(f.value);
  return true;
}

std::vector<std::uint8_t> SerializeChain(const ReceiverChain& chain) {
  ByteWriter w(64 + chain.skipped.size() * kSkippedEntrySize);
  WriteKey(w, kChainRatchetKey, chain.ratchet_key);
  WriteBytesField(w, kChainKey, chain.chain_key.key.bytes());
  WriteVarintField(w, kChainIndex, chain.chain_key.index);
  SecretBuffer skipped(chain.skipped.size() * kSkippedEntrySize);
  std::uint8_t* p = skipped.data();
  for (const auto& k : chain.skipped) {
    for (int s = 24; s >= 0; s -= 8) *p++ = static_cast<std::uint8_t>(k.counter >> s);
    p = std::copy(k.seed.bytes().begin(), k.seed.bytes().end(), p);
  }
  WriteBytesField(w, kChainSkipped, skipped.bytes());
  return w.Take();
}

std::vector<std::uint8_t> SerializeState(const SessionState& s) {
  ByteWriter w(512);
  WriteKey(w, kLocalIdentity, s.local_identity);
  WriteKey(w, kRemoteIdentity, s.remote_identity);
  WriteVarintField(w, kLocalRegistrationId, s.local_registration_id.value());
  WriteVarintField(w, kRemoteRegistrationId, s.remote_registration_id.value());
  WriteKey(w, kBaseKey, s.base_key);
  WriteBytesField(w, kRootKey, s.root_key.bytes());
  WriteBytesField(w, kSenderPrivate, s.sender_ratchet.private_key.bytes().bytes());
  WriteKey(w, kSenderPublic, s.sender_ratchet.public_key);
  WriteBytesField(w, kSenderChainKey, s.sender_chain.key.bytes());
  WriteVarintField(w, kSenderChainIndex, s.sender_chain.index);
  WriteVarintField(w, kPreviousCounter, s.previous_counter);
  for (const auto& chain : s.receiver_chains) {
    auto bytes = SerializeChain(chain);
    WriteBytesField(w, kReceiverChain, bytes);
    WipeMemory(bytes.data(), bytes.size());
  }
  if (s.pending_prekey) {
    ByteWriter p(64);
    if (s.pending_prekey->prekey_id)
      WriteVarintField(p, kPendingPreKeyId, s.pending_prekey->prekey_id->value());
    WriteVarintField(p, kPendingSignedPreKeyId, s.pending_prekey->signed_prekey_id.value());
    WriteKey(p, kPendingBaseKey, s.pending_prekey->base_key);
    WriteBytesField(w, kPendingPreKey, p.bytes());
  }
  return w.Take();
}

ProtocolResult<ReceiverChain> ParseChain(Bytes data) {
  ReceiverChain chain;
  FieldSet seen;
  Bytes skipped;
  ProtoReader r(data);
  ProtoField f;
  while (r.Next(f)) {
    if (!seen.Add(f.number)) return Invalid("repeated receiver chain field");
    bool ok = false;
    switch (f.number) {
      case kChainRatchetKey:
        ok = ReadPublicKey(f, chain.ratchet_key);
        break;
      case kChainKey:
        ok = ReadSecret(f, chain.chain_key.key);
        break;
      case kChainIndex:
        ok = ReadU32(f, chain.chain_key.index);
        break;
      case kChainSkipped:
        ok = f.type == WireType::kLengthDelimited && f.bytes.size() % kSkippedEntrySize == 0;
        skipped = f.bytes;
        break;
      default:
        return Invalid("unknown receiver chain field");
    }
    if (!ok) return Invalid("bad receiver chain field");
  }
  if (r.failed()) return Invalid("receiver chain is not valid protobuf");
  if (!seen.Has(kChainRatchetKey) || !seen.Has(kChainKey) || !seen.Has(kChainIndex) ||
      !seen.Has(kChainSkipped)) {
    return Invalid("receiver chain lacks a field");
  }
  const std::size_t count = skipped.size() / kSkippedEntrySize;
  if (count > kMaxMessageKeysPerChain) return Invalid("too many skipped keys");
  chain.skipped.reserve(count);
  ByteReader reader(skipped);
  for (std::size_t i = 0; i < count; ++i) {
    SkippedMessageKey k;
    Bytes seed;
    if (!reader.ReadU32BE(k.counter) || !reader.ReadBytes(kRatchetKeySize, seed))
      return Invalid("bad skipped key");
    if (k.counter >= chain.chain_key.index) return Invalid("skipped key not below its chain's index");
    if (!chain.skipped.empty() && chain.skipped.back().counter >= k.counter) {
      return Invalid("skipped keys out of order");
    }
    k.seed = MessageKeySeed(std::span<const std::uint8_t, kRatchetKeySize>(seed.data(), kRatchetKeySize));
    chain.skipped.push_back(std::move(k));
  }
  return chain;
}

ProtocolResult<PendingPreKey> ParsePending(Bytes data) {
  PendingPreKey pending;
  FieldSet seen;
  ProtoReader r(data);
  ProtoField f;
  while (r.Next(f)) {
    if (!seen.Add(f.number)) return Invalid("repeated pending prekey field");
    bool ok = false;
    std::uint32_t v = 0;
    switch (f.number) {
      case kPendingPreKeyId:
        ok = ReadU32(f, v);
        pending.prekey_id = PreKeyId(v);
        break;
      case kPendingSignedPreKeyId:
        ok = ReadU32(f, v);
        pending.signed_prekey_id = SignedPreKeyId(v);
        break;
      case kPendingBaseKey:
        ok = ReadPublicKey(f, pending.base_key);
        break;
      default:
        return Invalid("unknown pending prekey field");
    }
    if (!ok) return Invalid("bad pending prekey field");
  }
  if (r.failed()) return Invalid("pending prekey is not valid protobuf");
  if (!seen.Has(kPendingSignedPreKeyId) || !seen.Has(kPendingBaseKey))
    return Invalid("pending prekey lacks a field");
  return pending;
}

ProtocolResult<SessionState> ParseState(Bytes data) {
  SessionState s;
  FieldSet seen;
  SecretArray<kRatchetKeySize> sender_private;
  ProtoReader r(data);
  ProtoField f;
  while (r.Next(f)) {
    if (f.number != kReceiverChain && !seen.Add(f.number)) return Invalid("repeated session state field");
    bool ok = false;
    std::uint32_t v = 0;
    switch (f.number) {
      case kLocalIdentity:
        ok = ReadPublicKey(f, s.local_identity);
        break;
      case kRemoteIdentity:
        ok = ReadPublicKey(f, s.remote_identity);
        break;
      case kLocalRegistrationId:
        ok = ReadU32(f, v);
        s.local_registration_id = RegistrationId(v);
        break;
      case kRemoteRegistrationId:
        ok = ReadU32(f, v);
        s.remote_registration_id = RegistrationId(v);
        break;
      case kBaseKey:
        ok = ReadPublicKey(f, s.base_key);
        break;
      case kRootKey:
        ok = ReadSecret(f, s.root_key);
        break;
      case kSenderPrivate:
        ok = ReadSecret(f, sender_private);
        break;
      case kSenderPublic:
        ok = ReadPublicKey(f, s.sender_ratchet.public_key);
        break;
      case kSenderChainKey:
        ok = ReadSecret(f, s.sender_chain.key);
        break;
      case kSenderChainIndex:
        ok = ReadU32(f, s.sender_chain.index);
        break;
      case kPreviousCounter:
        ok = ReadU32(f, s.previous_counter);
        break;
      case kReceiverChain: {
        if (f.type != WireType::kLengthDelimited) return Invalid("bad receiver chain");
        if (s.receiver_chains.size() >= kMaxReceiverChains) return Invalid("too many receiver chains");
        auto chain = ParseChain(f.bytes);
        if (!chain) return tl::unexpected(chain.error());
        s.receiver_chains.push_back(std::move(*chain));
        ok = true;
        break;
      }
      case kPendingPreKey: {
        if (f.type != WireType::kLengthDelimited) return Invalid("bad pending prekey");
        auto pending = ParsePending(f.bytes);
        if (!pending) return tl::unexpected(pending.error());
        s.pending_prekey = std::move(*pending);
        ok = true;
        break;
      }
      default:
        return Invalid("unknown session state field");
    }
    if (!ok) return Invalid("bad session state field");
  }
  if (r.failed()) return Invalid("session state is not valid protobuf");
  for (std::uint32_t n = kLocalIdentity; n <= kPreviousCounter; ++n) {
    if (!seen.Has(n)) return Invalid("session state lacks a field");
  }
  auto priv = crypto::PrivateKey::FromBytes(sender_private.bytes());
  if (!priv) return Invalid("bad sender ratchet private key");
  s.sender_ratchet.private_key = std::move(*priv);
  return s;
}

}  // namespace

bool SessionRecord::HasStateWithBaseKey(const crypto::PublicKey& base_key) const {
  if (current_ && current_->base_key == base_key) return true;
  return std::any_of(previous_.begin(), previous_.end(),
                     [&](const SessionState& s) { return s.base_key == base_key; });
}

void SessionRecord::PromoteState(SessionState state) {
  if (current_) {
    previous_.insert(previous_.begin(), std::move(*current_));
    if (previous_.size() > kMaxArchivedStates) previous_.resize(kMaxArchivedStates);
  }
  current_ = std::move(state);
}

void SessionRecord::PromotePreviousState(std::size_t index) {
  SessionState state = std::move(previous_[index]);
  previous_.erase(previous_.begin() + static_cast<std::ptrdiff_t>(index));
  PromoteState(std::move(state));
}

void SessionRecord::ArchiveCurrentState() {
  if (!current_) return;
  previous_.insert(previous_.begin(), std::move(*current_));
  current_.reset();
  if (previous_.size() > kMaxArchivedStates) previous_.resize(kMaxArchivedStates);
}

std::vector<std::uint8_t> SessionRecord::Serialize() const {
  ByteWriter w(1024);
  WriteVarintField(w, kRecordVersion, kSessionRecordFormatVersion);
  if (current_) {
    auto bytes = SerializeState(*current_);
    WriteBytesField(w, kRecordCurrent, bytes);
    WipeMemory(bytes.data(), bytes.size());
  }
  for (const auto& s : previous_) {
    auto bytes = SerializeState(s);
    WriteBytesField(w, kRecordPrevious, bytes);
    WipeMemory(bytes.data(), bytes.size());
  }
  return w.Take();
}

ProtocolResult<SessionRecord> SessionRecord::Deserialize(Bytes serialized) {
  ProtoReader r(serialized);
  ProtoField f;
  if (!r.Next(f) || f.number != kRecordVersion || f.type != WireType::kVarint) {
    return Invalid("session record does not start with its format version");
  }
  if (f.value != kSessionRecordFormatVersion) return Invalid("unknown session record format version");
  SessionRecord record;
  while (r.Next(f)) {
    if (f.type != WireType::kLengthDelimited) return Invalid("bad session record field");
    if (f.number == kRecordCurrent) {
      if (record.current_ || !record.previous_.empty()) return Invalid("misplaced current state");
      auto state = ParseState(f.bytes);
      if (!state) return tl::unexpected(state.error());
      record.current_ = std::move(*state);
    } else if (f.number == kRecordPrevious) {
      if (record.previous_.size() >= kMaxArchivedStates) return Invalid("too many previous states");
      auto state = ParseState(f.bytes);
      if (!state) return tl::unexpected(state.error());
      record.previous_.push_back(std::move(*state));
    } else {
      return Invalid("unknown session record field");
    }
  }
  if (r.failed()) return Invalid("session record is not valid protobuf");
  return record;
}

}  // namespace parley::protocol
