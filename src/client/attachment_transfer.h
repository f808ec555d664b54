// AttachmentTransfer: moves encrypted attachment blobs to and from parleyd
// over HTTPS (docs/wire-protocol.md section 8).
//
// Every request authenticates as this device (Basic credentials) on its own
// TLS 1.3 connection, and the server certificate's SHA-256 must equal the pin
// (when one is set) before anything is sent, as on the WebSocket connection.
// Uploads are resumable: after an interrupted PATCH the transfer asks the
// server for its offset (HEAD) and continues from there. Downloads resume
// with a Range request from the size of the partial file. Bytes stream
// between the socket and a file in pieces of 64 KiB, so memory stays bounded
// whatever the attachment's size. Boost.Beast stays inside the .cc.
//
// Failures are ClientErrc values: kNetwork (cannot connect, TLS or pin
// failure, the connection kept breaking), kTimeout, kUnauthorized,
// kForbidden, kNotFound, kTooLarge, kRateLimited, kServerError (an answer
// that breaks the protocol), kStorage (a local file cannot be read or
// written). Blocking; one transfer object may be used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "base/secret.h"
#include "base/strong_id.h"
#include "base/uuid.h"
#include "client/content.h"
#include "client/error.h"

namespace parley::client {

struct AttachmentTransferOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8443;
  std::string pin;  // lower-case hex SHA-256 of the server certificate; empty accepts any
  AccountId account;
  DeviceId device;
  SecretArray<32> credential;
  // How long one network step (connect, handshake, one read or write) may take.
  std::chrono::milliseconds step_timeout{15'000};
  // Connections tried per upload or download before giving up (each broken
  // one is resumed where it stopped).
  int max_attempts = 5;
  // Called with the bytes moved so far and the total, after each piece.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

class AttachmentTransfer {
 public:
  explicit AttachmentTransfer(AttachmentTransferOptions options);
  ~AttachmentTransfer();
  AttachmentTransfer(const AttachmentTransfer&) = delete;
  AttachmentTransfer& operator=(const AttachmentTransfer&) = delete;

  // POST: creates an attachment of `length` bytes; returns its id.
  // kTooLarge past the server's cap or the account's byte budget.
  ClientResult<ContentId> Create(std::uint64_t length);
  // HEAD: the bytes the server holds of an attachment this account created.
  ClientResult<std::uint64_t> Offset(const ContentId& id);
  // PATCH: sends the file `blob` (exactly the created length) from the
  // server's current offset, resuming after broken connections.
  ClientStatus Upload(const ContentId& id, const std::filesystem::path& blob);
  // GET: appends the attachment to `partial` (created with mode 0600 if
  // absent), resuming from the file's size, until it is whole. kTooLarge,
  // before the body is read, when the attachment is longer than
  // `max_length`.
  ClientStatus Download(const ContentId& id, const std::filesystem::path& partial, std::uint64_t max_length);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley::client
