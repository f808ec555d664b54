// ContractParty: a Party driven through the JSON-lines interop contract
// (shared/interop-peer.md) exactly as an outside test driver would, over a
// ContractChannel: a `parley-interop` process, or the same engine in-process.
#pragma once

#include <memory>
#include <string>

#include "party.h"

namespace parley::interop {

class InteropEngine;

// Carries one request line to an implementation and its response line back.
class ContractChannel {
 public:
  virtual ~ContractChannel() = default;
  virtual std::string Call(const std::string& request_line) = 0;
};

// Parley's InteropEngine in this process.
class EngineChannel final : public ContractChannel {
 public:
  EngineChannel();
  ~EngineChannel() override;
  std::string Call(const std::string& request_line) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// One running parley-interop process; several parties may live in it.
class InteropProcess final : public ContractChannel {
 public:
  // Starts the executable at `path`. Aborts the test run if it cannot start.
  explicit InteropProcess(const std::string& path);
  ~InteropProcess();
  InteropProcess(const InteropProcess&) = delete;
  InteropProcess& operator=(const InteropProcess&) = delete;

  // Sends one request line and returns the one response line.
  std::string Call(const std::string& request_line) override;
  // Closes standard input and returns the exit status.
  int Finish();

 private:
  int pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffered_;
};

class ContractParty final : public Party {
 public:
  // Creates the party behind `channel` (op new_party).
  ContractParty(std::shared_ptr<ContractChannel> channel, std::string name, std::uint32_t registration_id,
                std::int32_t device);

  std::string name() const override { return name_; }
  std::int32_t device() const override { return device_; }
  ByteVec IdentityKey() override { return identity_key_; }
  Outcome<Bundle> MakeBundle(std::uint32_t signed_prekey_id, std::optional<std::uint32_t> prekey_id) override;
  Outcome<Done> StartSession(const Address& peer, const Bundle& bundle) override;
  Outcome<Ciphertext> Encrypt(const Address& peer, const ByteVec& plaintext) override;
  Outcome<ByteVec> Decrypt(const Address& peer, const Ciphertext& message) override;
  bool HasSession(const Address& peer) override;
  Outcome<Done> Trust(const Address& peer, const ByteVec& identity_key) override;
  Outcome<Fingerprint> MakeFingerprint(const std::string& local_id, const std::string& peer_id,
                                       const ByteVec& peer_identity_key, std::uint32_t iterations) override;
  Outcome<ByteVec> GroupCreate(const std::string& group) override;
  Outcome<Done> GroupAccept(const std::string& group, const Address& sender,
                            const ByteVec& distribution) override;
  Outcome<ByteVec> GroupEncrypt(const std::string& group, const ByteVec& plaintext) override;
  Outcome<ByteVec> GroupDecrypt(const std::string& group, const Address& sender,
                                const ByteVec& ciphertext) override;

 private:
  std::shared_ptr<ContractChannel> process_;
  std::string name_;
  std::int32_t device_;
  ByteVec identity_key_;
};

}  // namespace parley::interop
