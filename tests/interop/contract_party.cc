#include "contract_party.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/clock.h"
#include "crypto/random.h"
#include "interop_engine.h"

extern char** environ;

namespace parley::interop {

namespace {

using nlohmann::json;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "contract_party: %s\n", what.c_str());
  std::abort();
}

json AddressJson(const Address& a) { return json{{"name", a.name}, {"device", a.device}}; }

ByteVec DecodeField(const json& j, const char* name) {
  auto bytes = Base64Decode(j.at(name).get<std::string>());
  if (!bytes) Die(std::string("response field is not base64: ") + name);
  return *bytes;
}

template <class T>
Outcome<T> Failure(const json& response) {
  Outcome<T> out;
  out.error = response.value("error", std::string("missing_error_code"));
  return out;
}

}  // namespace

struct EngineChannel::State {
  crypto::SystemRng rng;
  SystemClock clock;
  InteropEngine engine{rng, clock};
};

EngineChannel::EngineChannel() : state_(std::make_unique<State>()) {}
EngineChannel::~EngineChannel() = default;
std::string EngineChannel::Call(const std::string& request_line) {
  return state_->engine.Handle(request_line);
}

InteropProcess::InteropProcess(const std::string& path) {
  int in_pipe[2];
  int out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) Die("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
  if (posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv, environ) != 0) Die("cannot start " + path);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  to_child_ = in_pipe[1];
  from_child_ = out_pipe[0];
  signal(SIGPIPE, SIG_IGN);
}

InteropProcess::~InteropProcess() {
  if (pid_ > 0) Finish();
}

std::string InteropProcess::Call(const std::string& request_line) {
  std::string out = request_line + "\n";
  std::size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = write(to_child_, out.data() + sent, out.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("write to parley-interop failed");
    sent += static_cast<std::size_t>(n);
  }
  for (;;) {
    const auto newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    char chunk[65536];
    const ssize_t n = read(from_child_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("parley-interop closed its output");
    buffered_.append(chunk, static_cast<std::size_t>(n));
  }
}

int InteropProcess::Finish() {
  if (pid_ <= 0) return -1;
  close(to_child_);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  close(from_child_);
  pid_ = -1;
  return status;
}

namespace {

json CallJson(ContractChannel& p, const json& request) {
  const std::string line = p.Call(request.dump());
  json response = json::parse(line, nullptr, false);
  if (response.is_discarded() || !response.is_object() || !response.contains("ok")) {
    Die("parley-interop answered with a malformed line: " + line);
  }
  return response;
}

}  // namespace

ContractParty::ContractParty(std::shared_ptr<ContractChannel> process, std::string name,
                             std::uint32_t registration_id, std::int32_t device)
    : process_(std::move(process)), name_(std::move(name)), device_(device) {
  json r = CallJson(
      *process_,
      {{"op", "new_party"}, {"party", name_}, {"registration_id", registration_id}, {"device", device}});
  if (!r.at("ok").get<bool>()) Die("new_party failed: " + r.dump());
  identity_key_ = DecodeField(r, "identity_key");
}

Outcome<Bundle> ContractParty::MakeBundle(std::uint32_t signed_prekey_id,
                                          std::optional<std::uint32_t> prekey_id) {
  json req = {{"op", "make_bundle"}, {"party", name_}, {"signed_prekey_id", signed_prekey_id}};
  req["prekey_id"] = prekey_id ? json(*prekey_id) : json(nullptr);
  json r = CallJson(*process_, req);
  if (!r.at("ok").get<bool>()) return Failure<Bundle>(r);
  const json& b = r.at("bundle");
  Bundle bundle;
  bundle.registration_id = b.at("registration_id").get<std::uint32_t>();
  bundle.device = b.at("device").get<std::int32_t>();
  bundle.identity_key = DecodeField(b, "identity_key");
  bundle.signed_prekey_id = b.at("signed_prekey_id").get<std::uint32_t>();
  bundle.signed_prekey = DecodeField(b, "signed_prekey");
  bundle.signed_prekey_signature = DecodeField(b, "signed_prekey_signature");
  if (!b.at("prekey_id").is_null()) {
    bundle.prekey_id = b.at("prekey_id").get<std::uint32_t>();
    bundle.prekey = DecodeField(b, "prekey");
  }
  return {bundle, ""};
}

Outcome<Done> ContractParty::StartSession(const Address& peer, const Bundle& bundle) {
  json b = {{"registration_id", bundle.registration_id},
            {"device", bundle.device},
            {"identity_key", Base64Encode(bundle.identity_key)},
            {"signed_prekey_id", bundle.signed_prekey_id},
            {"signed_prekey", Base64Encode(bundle.signed_prekey)},
            {"signed_prekey_signature", Base64Encode(bundle.signed_prekey_signature)}};
  b["prekey_id"] = bundle.prekey_id ? json(*bundle.prekey_id) : json(nullptr);
  b["prekey"] = bundle.prekey ? json(Base64Encode(*bundle.prekey)) : json(nullptr);
  json r = CallJson(*process_,
                    {{"op", "start_session"}, {"party", name_}, {"peer", AddressJson(peer)}, {"bundle", b}});
  if (!r.at("ok").get<bool>()) return Failure<Done>(r);
  return {Done{}, ""};
}

Outcome<Ciphertext> ContractParty::Encrypt(const Address& peer, const ByteVec& plaintext) {
  json r = CallJson(*process_, {{"op", "encrypt"},
                                {"party", name_},
                                {"peer", AddressJson(peer)},
                                {"plaintext", Base64Encode(plaintext)}});
  if (!r.at("ok").get<bool>()) return Failure<Ciphertext>(r);
  Ciphertext c;
  c.type = r.at("type").get<std::string>() == "prekey" ? MessageType::kPreKey : MessageType::kMessage;
  c.bytes = DecodeField(r, "ciphertext");
  return {c, ""};
}

Outcome<ByteVec> ContractParty::Decrypt(const Address& peer, const Ciphertext& message) {
  json r = CallJson(*process_, {{"op", "decrypt"},
                                {"party", name_},
                                {"peer", AddressJson(peer)},
                                {"type", message.type == MessageType::kPreKey ? "prekey" : "message"},
                                {"ciphertext", Base64Encode(message.bytes)}});
  if (!r.at("ok").get<bool>()) return Failure<ByteVec>(r);
  return {DecodeField(r, "plaintext"), ""};
}

bool ContractParty::HasSession(const Address& peer) {
  json r = CallJson(*process_, {{"op", "has_session"}, {"party", name_}, {"peer", AddressJson(peer)}});
  if (!r.at("ok").get<bool>()) Die("has_session failed: " + r.dump());
  return r.at("value").get<bool>();
}

Outcome<Done> ContractParty::Trust(const Address& peer, const ByteVec& identity_key) {
  json r = CallJson(*process_, {{"op", "trust"},
                                {"party", name_},
                                {"peer", AddressJson(peer)},
                                {"identity_key", Base64Encode(identity_key)}});
  if (!r.at("ok").get<bool>()) return Failure<Done>(r);
  return {Done{}, ""};
}

Outcome<Fingerprint> ContractParty::MakeFingerprint(const std::string& local_id, const std::string& peer_id,
                                                    const ByteVec& peer_identity_key,
                                                    std::uint32_t iterations) {
  json r = CallJson(*process_, {{"op", "fingerprint"},
                                {"party", name_},
                                {"local_id", local_id},
                                {"peer_id", peer_id},
                                {"peer_identity_key", Base64Encode(peer_identity_key)},
                                {"iterations", iterations}});
  if (!r.at("ok").get<bool>()) return Failure<Fingerprint>(r);
  return {Fingerprint{r.at("displayable").get<std::string>(), DecodeField(r, "scannable")}, ""};
}

Outcome<ByteVec> ContractParty::GroupCreate(const std::string& group) {
  json r = CallJson(*process_, {{"op", "group_create"}, {"party", name_}, {"group", group}});
  if (!r.at("ok").get<bool>()) return Failure<ByteVec>(r);
  return {DecodeField(r, "distribution"), ""};
}

Outcome<Done> ContractParty::GroupAccept(const std::string& group, const Address& sender,
                                         const ByteVec& distribution) {
  json r = CallJson(*process_, {{"op", "group_accept"},
                                {"party", name_},
                                {"group", group},
                                {"sender", AddressJson(sender)},
                                {"distribution", Base64Encode(distribution)}});
  if (!r.at("ok").get<bool>()) return Failure<Done>(r);
  return {Done{}, ""};
}

Outcome<ByteVec> ContractParty::GroupEncrypt(const std::string& group, const ByteVec& plaintext) {
  json r = CallJson(
      *process_,
      {{"op", "group_encrypt"}, {"party", name_}, {"group", group}, {"plaintext", Base64Encode(plaintext)}});
  if (!r.at("ok").get<bool>()) return Failure<ByteVec>(r);
  return {DecodeField(r, "ciphertext"), ""};
}

Outcome<ByteVec> ContractParty::GroupDecrypt(const std::string& group, const Address& sender,
                                             const ByteVec& ciphertext) {
  json r = CallJson(*process_, {{"op", "group_decrypt"},
                                {"party", name_},
                                {"group", group},
                                {"sender", AddressJson(sender)},
                                {"ciphertext", Base64Encode(ciphertext)}});
  if (!r.at("ok").get<bool>()) return Failure<ByteVec>(r);
  return {DecodeField(r, "plaintext"), ""};
}

}  // namespace parley::interop
