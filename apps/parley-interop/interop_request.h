// Requests of the interop peer contract (shared/interop-peer.md), parsed and
// validated from one JSON line.
//
// Parsing checks everything that can be checked without a party's state:
// JSON syntax, the op, presence and types of fields, integer ranges, and
// base64. A request that fails here is answered with `bad_request` (or
// `unsupported` for an unknown op) and never reaches the protocol core.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace parley::interop {

using ByteVec = std::vector<std::uint8_t>;

// A line longer than this is bad_request without being parsed.
inline constexpr std::size_t kMaxRequestLine = 4 * 1024 * 1024;

struct PeerAddress {
  std::string name;
  std::int32_t device = 1;
};

struct BundleFields {
  std::uint32_t registration_id = 0;
  std::int32_t device = 1;
  ByteVec identity_key;
  std::uint32_t signed_prekey_id = 0;
  ByteVec signed_prekey;
  ByteVec signed_prekey_signature;
  std::optional<std::uint32_t> prekey_id;
  std::optional<ByteVec> prekey;
};

struct NewPartyRequest {
  std::string party;
  std::uint32_t registration_id = 0;
  std::int32_t device = 1;
};
struct MakeBundleRequest {
  std::string party;
  std::uint32_t signed_prekey_id = 0;
  std::optional<std::uint32_t> prekey_id;
};
struct StartSessionRequest {
  std::string party;
  PeerAddress peer;
  BundleFields bundle;
};
struct EncryptRequest {
  std::string party;
  PeerAddress peer;
  ByteVec plaintext;
};
enum class CiphertextKind { kPreKey, kMessage };
struct DecryptRequest {
  std::string party;
  PeerAddress peer;
  CiphertextKind type = CiphertextKind::kMessage;
  ByteVec ciphertext;
};
struct HasSessionRequest {
  std::string party;
  PeerAddress peer;
};
struct TrustRequest {
  std::string party;
  PeerAddress peer;
  ByteVec identity_key;
};
struct FingerprintRequest {
  std::string party;
  std::string local_id;
  std::string peer_id;
  ByteVec peer_identity_key;
  std::uint32_t iterations = 0;
};
struct GroupCreateRequest {
  std::string party;
  std::string group;
};
struct GroupAcceptRequest {
  std::string party;
  std::string group;
  PeerAddress sender;
  ByteVec distribution;
};
struct GroupEncryptRequest {
  std::string party;
  std::string group;
  ByteVec plaintext;
};
struct GroupDecryptRequest {
  std::string party;
  std::string group;
  PeerAddress sender;
  ByteVec ciphertext;
};

using InteropRequest =
    std::variant<NewPartyRequest, MakeBundleRequest, StartSessionRequest, EncryptRequest, DecryptRequest,
                 HasSessionRequest, TrustRequest, FingerprintRequest, GroupCreateRequest, GroupAcceptRequest,
                 GroupEncryptRequest, GroupDecryptRequest>;

struct RequestError {
  std::string code;     // "bad_request" or "unsupported"
  std::string message;  // what was wrong, for the driver's log
};

// Parses one request line. Never throws.
std::variant<InteropRequest, RequestError> ParseInteropRequest(std::string_view line);

}  // namespace parley::interop
