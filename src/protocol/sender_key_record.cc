#include "protocol/sender_key_record.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "base/byte_writer.h"
#include "base/proto.h"
#include "protocol/sender_key_wire.h"

namespace parley::protocol {

namespace {

enum RecordField : std::uint32_t { kState = 1 };
enum StateField : std::uint32_t { kKeyId = 1, kChainKey = 2, kSigningKey = 3, kMessageKey = 4 };
enum ChainKeyField : std::uint32_t { kChainIteration = 1, kChainSeed = 2 };
enum SigningKeyField : std::uint32_t { kPublic = 1, kPrivate = 2 };
enum MessageKeyField : std::uint32_t { kMessageIteration = 1, kMessageSeed = 2 };

// Upper bounds of the encodings, used to reserve buffers once (so that key
// bytes are not left behind by reallocation) and to derive the size cap.
constexpr std::size_t kMessageKeyEntrySize = 42;
constexpr std::size_t kStateFixedSize = 125;
constexpr std::size_t kStateFramingSize = 4;

static_assert(kMaxSerializedSenderKeyRecordSize ==
              1 + kMaxSenderKeyStates *
                      (kStateFramingSize + kStateFixedSize + kMaxSenderMessageKeys * kMessageKeyEntrySize));

auto Invalid(std::string_view why) { return Fail(ProtocolErrc::kInvalidState, why); }

// Appends child as a length-delimited field and wipes child's bytes.
void WriteChildField(ByteWriter& parent, std::uint32_t number, ByteWriter& child) {
  std::vector<std::uint8_t> bytes = child.Take();
  WriteBytesField(parent, number, bytes);
  WipeMemory(bytes.data(), bytes.size());
}

void WriteState(ByteWriter& out, const SenderKeyState& state) {
  ByteWriter body(kStateFixedSize + state.message_keys().size() * kMessageKeyEntrySize);
  WriteVarintField(body, kKeyId, state.key_id());

  ByteWriter chain(48);
  WriteVarintField(chain, kChainIteration, state.chain_key().iteration());
  WriteBytesField(chain, kChainSeed, state.chain_key().key().bytes());
  WriteChildField(body, kChainKey, chain);

  ByteWriter signing(80);
  WriteBytesField(signing, kPublic, state.signing_public().Serialize());
  if (state.signing_private()) WriteBytesField(signing, kPrivate, state.signing_private()->bytes().bytes());
  WriteChildField(body, kSigningKey, signing);

  for (const SenderMessageKey& key : state.message_keys()) {
    ByteWriter entry(kMessageKeyEntrySize);
    WriteVarintField(entry, kMessageIteration, key.iteration());
    WriteBytesField(entry, kMessageSeed, key.seed().bytes());
    WriteChildField(body, kMessageKey, entry);
  }
  WriteChildField(out, kState, body);
}

ProtocolResult<SenderChainKey> ParseChainKey(Bytes bytes) {
  std::optional<std::uint32_t> iteration;
  std::optional<Bytes> seed;
  ProtoReader reader(bytes);
  ProtoField field;
  while (reader.Next(field)) {
    bool ok = true;
    if (field.number == kChainIteration) ok = TakeUint32Field(field, iteration);
    if (field.number == kChainSeed) ok = TakeBytesField(field, seed);
    if (!ok) return Invalid("stored chain key has a bad field");
  }
  if (reader.failed() || !iteration || !seed) return Invalid("stored chain key is incomplete");
  if (seed->size() != kSenderChainKeySize) return Invalid("stored chain key is not 32 bytes");
  return SenderChainKey(*iteration, SecretArray<kSenderChainKeySize>(seed->first<kSenderChainKeySize>()));
}

struct SigningKeys {
  crypto::PublicKey public_key;
  std::optional<crypto::PrivateKey> private_key;
};

ProtocolResult<SigningKeys> ParseSigningKey(Bytes bytes) {
  std::optional<Bytes> public_bytes;
  std::optional<Bytes> private_bytes;
  ProtoReader reader(bytes);
  ProtoField field;
  while (reader.Next(field)) {
    bool ok = true;
    if (field.number == kPublic) ok = TakeBytesField(field, public_bytes);
    if (field.number == kPrivate) ok = TakeBytesField(field, private_bytes);
    if (!ok) return Invalid("stored signing key has a bad field");
  }
  if (reader.failed() || !public_bytes) return Invalid("stored signing key is incomplete");
  auto public_key = crypto::PublicKey::Deserialize(*public_bytes);
  if (!public_key) return Invalid("stored signing public key is malformed");
  SigningKeys keys{*public_key, std::nullopt};
  if (private_bytes) {
    if (private_bytes->size() != crypto::kPrivateKeySize)
      return Invalid("stored signing private key is malformed");
    auto private_key = crypto::PrivateKey::FromBytes(*private_bytes);
    if (!private_key || !private_key->Matches(keys.public_key)) {
      return Invalid("stored signing private key does not match its public key");
    }
    keys.private_key = std::move(*private_key);
  }
  return keys;
}

ProtocolResult<SenderMessageKey> ParseMessageKey(Bytes bytes) {
  std::optional<std::uint32_t> iteration;
  std::optional<Bytes> seed;
  ProtoReader reader(bytes);
  ProtoField field;
  while (reader.Next(field)) {
    bool ok = true;
    if (field.number == kMessageIteration) ok = TakeUint32Field(field, iteration);
    if (field.number == kMessageSeed) ok = TakeBytesField(field, seed);
    if (!ok) return Invalid("stored message key has a bad field");
  }
  if (reader.failed() || !iteration || !seed) return Invalid("stored message key is incomplete");
  if (seed->size() != kSenderMessageSeedSize) return Invalid("stored message key is not 32 bytes");
  return SenderMessageKey(*iteration,
                          SecretArray<kSenderMessageSeedSize>(seed->first<kSenderMessageSeedSize>()));
}

ProtocolResult<SenderKeyState> ParseState(Bytes bytes) {
  std::optional<std::uint32_t> key_id;
  std::optional<Bytes> chain_bytes;
  std::optional<Bytes> signing_bytes;
  std::vector<Bytes> message_key_bytes;
  ProtoReader reader(bytes);
  ProtoField field;
  while (reader.Next(field)) {
    bool ok = true;
    switch (field.number) {
      case kKeyId:
        ok = TakeUint32Field(field, key_id);
        break;
      case kChainKey:
        ok = TakeBytesField(field, chain_bytes);
        break;
      case kSigningKey:
        ok = TakeBytesField(field, signing_bytes);
        break;
      case kMessageKey:
        ok = field.type == WireType::kLengthDelimited && message_key_bytes.size() < kMaxSenderMessageKeys;
        if (ok) message_key_bytes.push_back(field.bytes);
        break;
      default:
        break;
    }
    if (!ok) return Invalid("stored sender-key state has a bad field or too many message keys");
  }
  if (reader.failed() || !key_id || !chain_bytes || !signing_bytes) {
    return Invalid("stored sender-key state is incomplete");
  }
  auto chain_key = ParseChainKey(*chain_bytes);
  if (!chain_key) return tl::unexpected(chain_key.error());
  auto signing = ParseSigningKey(*signing_bytes);
  if (!signing) return tl::unexpected(signing.error());

  SenderKeyState state(*key_id, std::move(*chain_key), signing->public_key, std::move(signing->private_key));
  std::optional<std::uint32_t> previous;
  for (const Bytes entry : message_key_bytes) {
    auto key = ParseMessageKey(entry);
    if (!key) return tl::unexpected(key.error());
    if ((previous && key->iteration() <= *previous) || key->iteration() >= state.chain_key().iteration()) {
      return Invalid("stored message keys are out of order");
    }
    previous = key->iteration();
    state.AddMessageKey(std::move(*key));
  }
  return state;
}

}  // namespace

SenderKeyState* SenderKeyRecord::NewestState() { return states_.empty() ? nullptr : &states_.front(); }

SenderKeyState* SenderKeyRecord::StateForKeyId(std::uint32_t key_id) {
  for (SenderKeyState& state : states_) {
    if (state.key_id() == key_id) return &state;
  }
  return nullptr;
}

void SenderKeyRecord::AddState(std::uint32_t key_id, std::uint32_t iteration,
                               const SecretArray<kSenderChainKeySize>& chain_key,
                               const crypto::PublicKey& signing_key) {
  const auto same_id = std::find_if(states_.begin(), states_.end(),
                                    [key_id](const SenderKeyState& s) { return s.key_id() == key_id; });
  std::optional<SenderKeyState> kept;
  if (same_id != states_.end()) {
    if (same_id->signing_public() == signing_key) kept.emplace(std::move(*same_id));
    states_.erase(same_id);
  }
  if (kept) {
    states_.push_front(std::move(*kept));
  } else {
    states_.emplace_front(key_id, SenderChainKey(iteration, chain_key), signing_key, std::nullopt);
  }
  while (states_.size() > kMaxSenderKeyStates) states_.pop_back();
}

void SenderKeyRecord::SetOwnState(std::uint32_t key_id, std::uint32_t iteration,
                                  const SecretArray<kSenderChainKeySize>& chain_key,
                                  const crypto::KeyPair& signing_key) {
  states_.clear();
  states_.emplace_front(key_id, SenderChainKey(iteration, chain_key), signing_key.public_key,
                        signing_key.private_key);
}

SecretBuffer SenderKeyRecord::Serialize() const {
  std::size_t reserve = 1;
  for (const SenderKeyState& state : states_) {
    reserve += kStateFramingSize + kStateFixedSize + state.message_keys().size() * kMessageKeyEntrySize;
  }
  ByteWriter out(reserve);
  out.WriteU8(kSenderKeyRecordFormatVersion);
  for (const SenderKeyState& state : states_) WriteState(out, state);
  std::vector<std::uint8_t> bytes = out.Take();
  SecretBuffer result(bytes);
  WipeMemory(bytes.data(), bytes.size());
  return result;
}

ProtocolResult<SenderKeyRecord> SenderKeyRecord::Deserialize(Bytes serialized) {
  if (serialized.empty()) return Invalid("empty sender-key record");
  if (serialized.size() > kMaxSerializedSenderKeyRecordSize)
    return Invalid("sender-key record over the size limit");
  if (serialized[0] != kSenderKeyRecordFormatVersion) return Invalid("unknown sender-key record format");

  SenderKeyRecord record;
  ProtoReader reader(serialized.subspan(1));
  ProtoField field;
  while (reader.Next(field)) {
    if (field.number != kState) continue;
    if (field.type != WireType::kLengthDelimited || record.states_.size() >= kMaxSenderKeyStates) {
      return Invalid("sender-key record has a bad field or too many states");
    }
    auto state = ParseState(field.bytes);
    if (!state) return tl::unexpected(state.error());
    if (record.StateForKeyId(state->key_id()) != nullptr)
      return Invalid("sender-key record repeats a key id");
    record.states_.push_back(std::move(*state));
  }
  if (reader.failed()) return Invalid("sender-key record is not a protobuf");
  return record;
}

}  // namespace parley::protocol
