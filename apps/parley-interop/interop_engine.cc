#include "interop_engine.h"

#include <nlohmann/json.hpp>
#include <type_traits>
#include <variant>

#include "base/base64.h"
#include "crypto/x25519.h"
#include "interop_request.h"
#include "protocol/fingerprint.h"
#include "protocol/group_cipher.h"
#include "protocol/group_session_builder.h"
#include "protocol/in_memory_stores.h"
#include "protocol/limits.h"
#include "protocol/prekey.h"
#include "protocol/prekey_bundle.h"
#include "protocol/sender_key_distribution_message.h"
#include "protocol/sender_key_store.h"
#include "protocol/session_builder.h"
#include "protocol/session_cipher.h"

namespace parley::interop {

struct InteropParty {
  InteropParty(std::string party_name, DeviceId device_id, crypto::KeyPair identity,
               RegistrationId registration)
      : name(std::move(party_name)), device(device_id), identities(std::move(identity), registration) {}

  protocol::ProtocolStores stores() { return {identities, prekeys, signed_prekeys, sessions}; }
  protocol::ProtocolAddress own_address() const { return {name, device}; }

  std::string name;
  DeviceId device;
  protocol::InMemoryIdentityKeyStore identities;
  protocol::InMemoryPreKeyStore prekeys;
  protocol::InMemorySignedPreKeyStore signed_prekeys;
  protocol::InMemorySessionStore sessions;
  protocol::InMemorySenderKeyStore sender_keys;
};

namespace {

using nlohmann::json;

std::string Base64(Bytes bytes) { return Base64Encode(bytes); }
std::string Base64(const SecretBuffer& secret) { return Base64Encode(secret.bytes()); }

std::string ErrorLine(std::string_view code, std::string_view message) {
  return json{{"ok", false}, {"error", code}, {"message", message}}.dump();
}

std::string ErrorLine(const protocol::ProtocolError& error) {
  return ErrorLine(protocol::ToInteropCode(error.code), error.message);
}

std::string OkLine(json fields = json::object()) {
  fields["ok"] = true;
  return fields.dump();
}

protocol::ProtocolAddress ToAddress(const PeerAddress& a) {
  return {a.name, DeviceId(static_cast<std::uint32_t>(a.device))};
}

}  // namespace

InteropEngine::InteropEngine(Rng& rng, const Clock& clock) : rng_(rng), clock_(clock) {}
InteropEngine::~InteropEngine() = default;

std::string InteropEngine::Handle(std::string_view line) {
  auto parsed = ParseInteropRequest(line);
  if (auto* error = std::get_if<RequestError>(&parsed)) return ErrorLine(error->code, error->message);
  auto& request = std::get<InteropRequest>(parsed);

  if (auto* r = std::get_if<NewPartyRequest>(&request)) {
    if (parties_.count(r->party) != 0) return ErrorLine("bad_request", "a party with this name exists");
    auto identity = protocol::GenerateIdentityKeyPair(rng_);
    const auto public_key = identity.public_key.Serialize();
    parties_.emplace(r->party,
                     std::make_unique<InteropParty>(r->party, DeviceId(static_cast<std::uint32_t>(r->device)),
                                                    std::move(identity), RegistrationId(r->registration_id)));
    return OkLine({{"identity_key", Base64(public_key)}});
  }

  const std::string& party_name =
      std::visit([](const auto& req) -> const std::string& { return req.party; }, request);
  auto it = parties_.find(party_name);
  if (it == parties_.end()) return ErrorLine("bad_request", "unknown party");
  InteropParty& party = *it->second;

  return std::visit(
      [&](const auto& req) -> std::string {
        using T = std::decay_t<decltype(req)>;
        if constexpr (std::is_same_v<T, NewPartyRequest>) {
          return ErrorLine("bad_request", "unreachable");
        } else if constexpr (std::is_same_v<T, MakeBundleRequest>) {
          const SignedPreKeyId spk_id(req.signed_prekey_id);
          if (!party.signed_prekeys.ContainsSignedPreKey(spk_id)) {
            auto spk = protocol::GenerateSignedPreKey(party.identities.GetIdentityKeyPair(), spk_id,
                                                      clock_.NowMillis(), rng_);
            if (!spk) return ErrorLine(spk.error());
            if (auto stored = party.signed_prekeys.StoreSignedPreKey(std::move(*spk)); !stored) {
              return ErrorLine(stored.error());
            }
          }
          auto spk = party.signed_prekeys.LoadSignedPreKey(spk_id);
          if (!spk) return ErrorLine(spk.error());
          json bundle = {
              {"registration_id", party.identities.GetLocalRegistrationId().value()},
              {"device", party.device.value()},
              {"identity_key", Base64(party.identities.GetIdentityKeyPair().public_key.Serialize())},
              {"signed_prekey_id", req.signed_prekey_id},
              {"signed_prekey", Base64(spk->key_pair.public_key.Serialize())},
              {"signed_prekey_signature", Base64(spk->signature)},
              {"prekey_id", nullptr},
              {"prekey", nullptr}};
          if (req.prekey_id) {
            const PreKeyId pk_id(*req.prekey_id);
            if (!party.prekeys.ContainsPreKey(pk_id)) {
              protocol::PreKeyRecord record;
              if (*req.prekey_id == protocol::kLastResortPreKeyId) {
                record = protocol::GenerateLastResortPreKey(rng_);
              } else {
                auto generated = protocol::GeneratePreKeys(pk_id, 1, rng_);
                if (!generated) return ErrorLine(generated.error());
                record = std::move(generated->front());
              }
              if (auto stored = party.prekeys.StorePreKey(std::move(record)); !stored) {
                return ErrorLine(stored.error());
              }
            }
            auto pk = party.prekeys.LoadPreKey(pk_id);
            if (!pk) return ErrorLine(pk.error());
            bundle["prekey_id"] = *req.prekey_id;
            bundle["prekey"] = Base64(pk->key_pair.public_key.Serialize());
          }
          return OkLine({{"bundle", bundle}});
        } else if constexpr (std::is_same_v<T, StartSessionRequest>) {
          const BundleFields& b = req.bundle;
          std::optional<PreKeyId> prekey_id;
          std::optional<Bytes> prekey;
          if (b.prekey_id) prekey_id = PreKeyId(*b.prekey_id);
          if (b.prekey) prekey = Bytes(*b.prekey);
          auto bundle = protocol::PreKeyBundle::FromSerialized(
              RegistrationId(b.registration_id), DeviceId(static_cast<std::uint32_t>(b.device)),
              b.identity_key, SignedPreKeyId(b.signed_prekey_id), b.signed_prekey, b.signed_prekey_signature,
              prekey_id, prekey);
          if (!bundle) return ErrorLine(bundle.error());
          protocol::SessionBuilder builder(party.stores(), ToAddress(req.peer));
          if (auto status = builder.ProcessPreKeyBundle(*bundle, rng_); !status)
            return ErrorLine(status.error());
          return OkLine();
        } else if constexpr (std::is_same_v<T, EncryptRequest>) {
          protocol::SessionCipher cipher(party.stores(), ToAddress(req.peer), rng_);
          auto message = cipher.Encrypt(req.plaintext);
          if (!message) return ErrorLine(message.error());
          return OkLine({{"type", message->type == protocol::CiphertextType::kPreKey ? "prekey" : "message"},
                         {"ciphertext", Base64(message->bytes)}});
        } else if constexpr (std::is_same_v<T, DecryptRequest>) {
          protocol::SessionCipher cipher(party.stores(), ToAddress(req.peer), rng_);
          const auto type = req.type == CiphertextKind::kPreKey ? protocol::CiphertextType::kPreKey
                                                                : protocol::CiphertextType::kMessage;
          auto plaintext = cipher.Decrypt(type, req.ciphertext);
          if (!plaintext) return ErrorLine(plaintext.error());
          return OkLine({{"plaintext", Base64(*plaintext)}});
        } else if constexpr (std::is_same_v<T, HasSessionRequest>) {
          const protocol::SessionRecord* record = party.sessions.LoadSession(ToAddress(req.peer));
          return OkLine({{"value", record != nullptr && record->has_current_state()}});
        } else if constexpr (std::is_same_v<T, TrustRequest>) {
          auto key = crypto::PublicKey::Deserialize(req.identity_key);
          if (!key) return ErrorLine("invalid_key", "identity key must be 33 bytes starting with 0x05");
          if (auto status = party.identities.ReplaceIdentity(ToAddress(req.peer), *key); !status) {
            return ErrorLine(status.error());
          }
          return OkLine();
        } else if constexpr (std::is_same_v<T, FingerprintRequest>) {
          auto peer_key = crypto::PublicKey::Deserialize(req.peer_identity_key);
          if (!peer_key) return ErrorLine("invalid_key", "identity key must be 33 bytes starting with 0x05");
          protocol::FingerprintGenerator generator(req.iterations);
          auto fingerprint = generator.Create(req.local_id, party.identities.GetIdentityKeyPair().public_key,
                                              req.peer_id, *peer_key);
          if (!fingerprint) return ErrorLine(fingerprint.error());
          return OkLine({{"displayable", fingerprint->displayable},
                         {"scannable", Base64(fingerprint->scannable.Serialize())}});
        } else if constexpr (std::is_same_v<T, GroupCreateRequest>) {
          protocol::GroupSessionBuilder builder(party.sender_keys, rng_);
          auto distribution = builder.CreateDistribution({req.group, party.own_address()});
          if (!distribution) return ErrorLine(distribution.error());
          return OkLine({{"distribution", Base64(distribution->serialized())}});
        } else if constexpr (std::is_same_v<T, GroupAcceptRequest>) {
          auto distribution = protocol::SenderKeyDistributionMessage::Deserialize(req.distribution);
          if (!distribution) return ErrorLine(distribution.error());
          protocol::GroupSessionBuilder builder(party.sender_keys, rng_);
          if (auto status = builder.Process({req.group, ToAddress(req.sender)}, *distribution); !status) {
            return ErrorLine(status.error());
          }
          return OkLine();
        } else if constexpr (std::is_same_v<T, GroupEncryptRequest>) {
          protocol::GroupCipher cipher(party.sender_keys, {req.group, party.own_address()}, rng_);
          auto ciphertext = cipher.Encrypt(req.plaintext);
          if (!ciphertext) return ErrorLine(ciphertext.error());
          return OkLine({{"ciphertext", Base64(*ciphertext)}});
        } else if constexpr (std::is_same_v<T, GroupDecryptRequest>) {
          protocol::GroupCipher cipher(party.sender_keys, {req.group, ToAddress(req.sender)}, rng_);
          auto plaintext = cipher.Decrypt(Bytes(req.ciphertext));
          if (!plaintext) return ErrorLine(plaintext.error());
          return OkLine({{"plaintext", Base64(*plaintext)}});
        }
      },
      request);
}

}  // namespace parley::interop
