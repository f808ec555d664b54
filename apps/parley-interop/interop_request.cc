#include "interop_request.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "protocol/limits.h"

namespace parley::interop {

namespace {

using nlohmann::json;

// Thrown only inside this file and caught in ParseInteropRequest.
struct FieldError {
  std::string message;
};

const json& Field(const json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end()) throw FieldError{std::string("missing field '") + name + "'"};
  return *it;
}

std::string String(const json& obj, const char* name) {
  const json& v = Field(obj, name);
  if (!v.is_string()) throw FieldError{std::string("field '") + name + "' must be a string"};
  return v.get<std::string>();
}

std::int64_t Integer(const json& obj, const char* name, std::int64_t min, std::int64_t max) {
  const json& v = Field(obj, name);
  if (!v.is_number_integer()) throw FieldError{std::string("field '") + name + "' must be an integer"};
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    throw FieldError{std::string("field '") + name + "' out of range"};
  }
  const std::int64_t x = v.get<std::int64_t>();
  if (x < min || x > max) throw FieldError{std::string("field '") + name + "' out of range"};
  return x;
}

std::optional<std::int64_t> OptionalInteger(const json& obj, const char* name, std::int64_t min,
                                            std::int64_t max) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return Integer(obj, name, min, max);
}

ByteVec Binary(const json& obj, const char* name) {
  const json& v = Field(obj, name);
  if (!v.is_string()) throw FieldError{std::string("field '") + name + "' must be a base64 string"};
  auto bytes = Base64Decode(v.get_ref<const std::string&>());
  if (!bytes) throw FieldError{std::string("field '") + name + "' is not canonical standard base64"};
  return std::move(*bytes);
}

constexpr std::int64_t kMaxDevice = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kMaxUint32 = std::numeric_limits<std::uint32_t>::max();

PeerAddress Address(const json& obj, const char* name) {
  const json& v = Field(obj, name);
  if (!v.is_object()) throw FieldError{std::string("field '") + name + "' must be an address object"};
  PeerAddress a;
  a.name = String(v, "name");
  a.device = static_cast<std::int32_t>(Integer(v, "device", 1, kMaxDevice));
  return a;
}

BundleFields Bundle(const json& obj) {
  const json& v = Field(obj, "bundle");
  if (!v.is_object()) throw FieldError{"field 'bundle' must be an object"};
  BundleFields b;
  b.registration_id = static_cast<std::uint32_t>(Integer(v, "registration_id", 0, kMaxUint32));
  b.device = static_cast<std::int32_t>(Integer(v, "device", 1, kMaxDevice));
  b.identity_key = Binary(v, "identity_key");
  b.signed_prekey_id = static_cast<std::uint32_t>(Integer(v, "signed_prekey_id", 0, kMaxUint32));
  b.signed_prekey = Binary(v, "signed_prekey");
  b.signed_prekey_signature = Binary(v, "signed_prekey_signature");
  if (auto id = OptionalInteger(v, "prekey_id", 0, kMaxUint32)) b.prekey_id = static_cast<std::uint32_t>(*id);
  auto it = v.find("prekey");
  if (it != v.end() && !it->is_null()) b.prekey = Binary(v, "prekey");
  if (b.prekey_id.has_value() != b.prekey.has_value()) {
    throw FieldError{"bundle 'prekey_id' and 'prekey' must both be present or both null"};
  }
  return b;
}

// nullopt for an op the contract does not define.
std::optional<InteropRequest> ParseOp(const std::string& op, const json& j) {
  if (op == "new_party") {
    return NewPartyRequest{String(j, "party"),
                           static_cast<std::uint32_t>(Integer(j, "registration_id", 1, 16380)),
                           static_cast<std::int32_t>(Integer(j, "device", 1, kMaxDevice))};
  }
  if (op == "make_bundle") {
    MakeBundleRequest r;
    r.party = String(j, "party");
    r.signed_prekey_id = static_cast<std::uint32_t>(Integer(j, "signed_prekey_id", 0, 0xFFFFFF));
    if (auto id = OptionalInteger(j, "prekey_id", 1, 0xFFFFFF)) r.prekey_id = static_cast<std::uint32_t>(*id);
    return r;
  }
  if (op == "start_session") return StartSessionRequest{String(j, "party"), Address(j, "peer"), Bundle(j)};
  if (op == "encrypt") return EncryptRequest{String(j, "party"), Address(j, "peer"), Binary(j, "plaintext")};
  if (op == "decrypt") {
    DecryptRequest r;
    r.party = String(j, "party");
    r.peer = Address(j, "peer");
    const std::string type = String(j, "type");
    if (type == "prekey") {
      r.type = CiphertextKind::kPreKey;
    } else if (type == "message") {
      r.type = CiphertextKind::kMessage;
    } else {
      throw FieldError{"field 'type' must be \"prekey\" or \"message\""};
    }
    r.ciphertext = Binary(j, "ciphertext");
    return r;
  }
  if (op == "has_session") return HasSessionRequest{String(j, "party"), Address(j, "peer")};
  if (op == "trust") return TrustRequest{String(j, "party"), Address(j, "peer"), Binary(j, "identity_key")};
  if (op == "fingerprint") {
    return FingerprintRequest{
        String(j, "party"), String(j, "local_id"), String(j, "peer_id"), Binary(j, "peer_identity_key"),
        static_cast<std::uint32_t>(Integer(j, "iterations", 1, protocol::kMaxFingerprintIterations))};
  }
  if (op == "group_create") return GroupCreateRequest{String(j, "party"), String(j, "group")};
  if (op == "group_accept") {
    return GroupAcceptRequest{String(j, "party"), String(j, "group"), Address(j, "sender"),
                              Binary(j, "distribution")};
  }
  if (op == "group_encrypt")
    return GroupEncryptRequest{String(j, "party"), String(j, "group"), Binary(j, "plaintext")};
  if (op == "group_decrypt") {
    return GroupDecryptRequest{String(j, "party"), String(j, "group"), Address(j, "sender"),
                               Binary(j, "ciphertext")};
  }
  return std::nullopt;
}

}  // namespace

std::variant<InteropRequest, RequestError> ParseInteropRequest(std::string_view line) {
  if (line.size() > kMaxRequestLine) return RequestError{"bad_request", "request line too long"};
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return RequestError{"bad_request", "not valid JSON"};
  if (!j.is_object()) return RequestError{"bad_request", "request must be a JSON object"};
  auto op_it = j.find("op");
  if (op_it == j.end() || !op_it->is_string())
    return RequestError{"bad_request", "missing string field 'op'"};
  const std::string op = op_it->get<std::string>();
  try {
    auto request = ParseOp(op, j);
    if (!request) return RequestError{"unsupported", "unknown op"};
    return std::move(*request);
  } catch (const FieldError& e) {
    return RequestError{"bad_request", e.message};
  } catch (const std::exception&) {
    return RequestError{"bad_request", "malformed request"};
  }
}

}  // namespace parley::interop
