#include "client/attachment_transfer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "base/base64.h"
#include "base/hex.h"
#include "client/attachment_headers.h"
#include "client/server_pin.h"

namespace parley::client {

namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using Stream = ssl::stream<beast::tcp_stream>;

constexpr std::size_t kPiece = 64 * 1024;
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxErrorBodyBytes = 4 * 1024;
constexpr const char* kAttachmentsPath = "/v1/attachments";

ClientError NetworkError(const error_code& ec, std::string_view why) {
  if (ec == beast::error::timeout)
    return ClientError{ClientErrc::kTimeout, "the server did not answer in time"};
  return ClientError{ClientErrc::kNetwork, why};
}

bool Retryable(ClientErrc code) {
  return code == ClientErrc::kNetwork || code == ClientErrc::kTimeout || code == ClientErrc::kConflict;
}

// The error for an answer other than the one expected.
ClientError StatusError(http::status status) {
  switch (status) {
    case http::status::unauthorized:
      return {ClientErrc::kUnauthorized, "the server does not accept this device's credential"};
    case http::status::forbidden:
      return {ClientErrc::kForbidden, "the server refused access to the attachment"};
    case http::status::not_found:
      return {ClientErrc::kNotFound, "no such attachment (unknown, unfinished or expired)"};
    case http::status::payload_too_large:
      return {ClientErrc::kTooLarge, "the attachment is over the server's size cap or byte budget"};
    case http::status::too_many_requests:
      return {ClientErrc::kRateLimited, "the server asks to retry later"};
    case http::status::conflict:
      return {ClientErrc::kConflict, "the upload's offset moved on the server"};
    default:
      return {ClientErrc::kServerError, "the server answered with an unexpected status"};
  }
}

template <class Message>
std::string_view HeaderValue(const Message& message, std::string_view name) {
  auto it = message.find(beast::string_view(name.data(), name.size()));
  if (it == message.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

// Closes a file descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

bool WriteAll(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

ClientError StorageError(std::string_view why) { return {ClientErrc::kStorage, why}; }

}  // namespace

class AttachmentTransfer::Impl {
 public:
  explicit Impl(AttachmentTransferOptions options)
      : options_(std::move(options)), tls_(ssl::context::tls_client) {
    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_3_VERSION);
    tls_.set_verify_mode(ssl::verify_none);  // authenticated by the pin instead
    const std::string user = options_.account.value().ToString() + "." +
                             std::to_string(options_.device.value()) + ":" +
                             ToHex(options_.credential.bytes());
    authorization_ =
        "Basic " + Base64Encode(std::span(reinterpret_cast<const std::uint8_t*>(user.data()), user.size()));
  }

  ClientResult<ContentId> Create(std::uint64_t length) {
    auto stream = Connect();
    if (!stream) return tl::unexpected(stream.error());
    http::request<http::empty_body> req{http::verb::post, kAttachmentsPath, 11};
    Prepare(req);
    req.set("Upload-Length", std::to_string(length));
    req.content_length(0);
    if (auto ec = Run([&](auto handler) { http::async_write(**stream, req, handler); })) {
      return tl::unexpected(NetworkError(ec, "the connection broke while creating the attachment"));
    }
    auto res = ReadSmallResponse(**stream, false);
    if (!res) return tl::unexpected(res.error());
    if (res->result() != http::status::created) return tl::unexpected(StatusError(res->result()));
    auto id = ParseAttachmentLocation(HeaderValue(*res, "Location"));
    if (!id)
      return Fail(ClientErrc::kServerError, "the server named the new attachment with a malformed path");
    return *id;
  }

  struct UploadState {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  ClientResult<UploadState> Head(const ContentId& id) {
    auto stream = Connect();
    if (!stream) return tl::unexpected(stream.error());
    http::request<http::empty_body> req{http::verb::head, AttachmentPath(id), 11};
    Prepare(req);
    if (auto ec = Run([&](auto handler) { http::async_write(**stream, req, handler); })) {
      return tl::unexpected(NetworkError(ec, "the connection broke while asking for the upload's offset"));
    }
    auto res = ReadSmallResponse(**stream, true);
    if (!res) return tl::unexpected(res.error());
    if (res->result() != http::status::ok) return tl::unexpected(StatusError(res->result()));
    auto offset = ParseAttachmentDecimal(HeaderValue(*res, "Upload-Offset"));
    auto length = ParseAttachmentDecimal(HeaderValue(*res, "Upload-Length"));
    if (!offset || !length || *offset > *length) {
      return Fail(ClientErrc::kServerError, "the server's upload offset is malformed");
    }
    return UploadState{*offset, *length};
  }

  ClientStatus Upload(const ContentId& id, const std::filesystem::path& blob) {
    FileDescriptor file(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!file.ok() || ::fstat(file.get(), &st) != 0)
      return tl::unexpected(StorageError("cannot read the encrypted file"));
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    std::optional<ClientError> last;
    for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      auto state = Head(id);
      if (!state) {
        if (!Retryable(state.error().code)) return tl::unexpected(state.error());
        last = state.error();
        continue;
      }
      if (state->length != file_size) {
        return Fail(ClientErrc::kInvalidArgument,
                    "the encrypted file is not the size the attachment was created with");
      }
      if (state->offset == state->length) return {};
      auto sent = Patch(id, file.get(), state->offset, state->length);
      if (sent) return {};
      if (!Retryable(sent.error().code)) return tl::unexpected(sent.error());
      last = sent.error();
    }
    return Fail(ClientErrc::kNetwork, last && last->code == ClientErrc::kTimeout
                                          ? "the upload kept timing out"
                                          : "the upload kept breaking off");
  }

  ClientStatus Download(const ContentId& id, const std::filesystem::path& partial, std::uint64_t max_length) {
    std::optional<ClientError> last;
    for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      auto done = Get(id, partial, max_length);
      if (done) return {};
      if (!Retryable(done.error().code)) return tl::unexpected(done.error());
      last = done.error();
    }
    return Fail(ClientErrc::kNetwork, last && last->code == ClientErrc::kTimeout
                                          ? "the download kept timing out"
                                          : "the download kept breaking off");
  }

 private:
  // The one completion handler type of every operation: each distinct handler type would
  // instantiate Beast's whole composed-operation chain over TLS once more.
  struct Completion {
    error_code* result;
    void operator()(error_code ec, std::size_t = 0) const { *result = ec; }
    void operator()(error_code ec, const tcp::endpoint&) const { *result = ec; }
  };

  // Runs one asynchronous operation to its end (or its timeout).
  template <class Start>
  error_code Run(Start&& start) {
    error_code result = net::error::operation_aborted;
    start(Completion{&result});
    io_.restart();
    io_.run();
    return result;
  }

  template <class Request>
  void Prepare(Request& req) {
    req.set(http::field::host, options_.host);
    req.set(http::field::authorization, authorization_);
    req.keep_alive(false);
  }

  void Arm(Stream& stream) { beast::get_lowest_layer(stream).expires_after(options_.step_timeout); }

  ClientResult<std::unique_ptr<Stream>> Connect() {
    buffer_.clear();
    tcp::resolver resolver(io_);
    error_code ec;
    const auto endpoints = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec) return Fail(ClientErrc::kNetwork, "cannot resolve the server");
    auto stream = std::make_unique<Stream>(io_, tls_);
    if (!SSL_set_tlsext_host_name(stream->native_handle(), options_.host.c_str())) {
      return Fail(ClientErrc::kNetwork, "cannot set the TLS server name");
    }
    Arm(*stream);
    if (auto e =
            Run([&](auto handler) { beast::get_lowest_layer(*stream).async_connect(endpoints, handler); })) {
      return tl::unexpected(NetworkError(e, "cannot connect to the server"));
    }
    Arm(*stream);
    if (auto e = Run([&](auto handler) { stream->async_handshake(ssl::stream_base::client, handler); })) {
      return tl::unexpected(NetworkError(e, "the TLS handshake failed"));
    }
    if (!PeerMatchesPin(stream->native_handle(), options_.pin)) {
      return Fail(ClientErrc::kNetwork, "the server certificate does not match the pinned fingerprint");
    }
    return stream;
  }

  // A response whose body, if any, is a short text.
  ClientResult<http::response<http::string_body>> ReadSmallResponse(Stream& stream, bool head) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxErrorBodyBytes);
    if (head) parser.skip(true);
    Arm(stream);
    if (auto ec = Run([&](auto handler) { http::async_read(stream, buffer_, parser, handler); })) {
      return tl::unexpected(NetworkError(ec, "the connection broke before the server answered"));
    }
    return parser.release();
  }

  // One PATCH from `offset`; success when the server holds all `length` bytes.
  ClientStatus Patch(const ContentId& id, int fd, std::uint64_t offset, std::uint64_t length) {
    auto stream = Connect();
    if (!stream) return tl::unexpected(stream.error());
    http::request<http::buffer_body> req{http::verb::patch, AttachmentPath(id), 11};
    Prepare(req);
    req.set(http::field::content_type, "application/offset+octet-stream");
    req.set("Upload-Offset", std::to_string(offset));
    req.set(http::field::expect, "100-continue");
    req.content_length(length - offset);
    req.body().data = nullptr;
    req.body().more = true;
    http::request_serializer<http::buffer_body> serializer{req};
    Arm(**stream);
    if (auto ec = Run([&](auto handler) { http::async_write_header(**stream, serializer, handler); })) {
      return tl::unexpected(NetworkError(ec, "the connection broke during the upload"));
    }
    {
      // 100 Continue, or a refusal before any byte of the body is sent.
      http::response_parser<http::string_body> interim;
      interim.header_limit(kMaxHeaderBytes);
      interim.body_limit(kMaxErrorBodyBytes);
      Arm(**stream);
      if (auto ec =
              Run([&](auto handler) { http::async_read_header(**stream, buffer_, interim, handler); })) {
        return tl::unexpected(NetworkError(ec, "the connection broke during the upload"));
      }
      if (interim.get().result() != http::status::continue_)
        return tl::unexpected(StatusError(interim.get().result()));
    }
    std::vector<std::uint8_t> piece(kPiece);
    for (std::uint64_t at = offset; at < length;) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, length - at));
      const ssize_t n = ::pread(fd, piece.data(), want, static_cast<off_t>(at));
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return tl::unexpected(StorageError("cannot read the encrypted file"));
      }
      req.body().data = piece.data();
      req.body().size = static_cast<std::size_t>(n);
      req.body().more = true;
      Arm(**stream);
      error_code ec = Run([&](auto handler) { http::async_write(**stream, serializer, handler); });
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return tl::unexpected(NetworkError(ec, "the connection broke during the upload"));
      at += static_cast<std::uint64_t>(n);
      if (options_.progress) options_.progress(at, length);
    }
    req.body().data = nullptr;
    req.body().size = 0;
    req.body().more = false;
    Arm(**stream);
    if (auto ec = Run([&](auto handler) { http::async_write(**stream, serializer, handler); })) {
      return tl::unexpected(NetworkError(ec, "the connection broke during the upload"));
    }
    auto res = ReadSmallResponse(**stream, false);
    if (!res) return tl::unexpected(res.error());
    if (res->result() != http::status::no_content) return tl::unexpected(StatusError(res->result()));
    auto now = ParseAttachmentDecimal(HeaderValue(*res, "Upload-Offset"));
    if (!now || *now != length)
      return Fail(ClientErrc::kServerError, "the server's upload offset is malformed");
    return {};
  }

  // One GET, appending to `partial` from its size.
  ClientStatus Get(const ContentId& id, const std::filesystem::path& partial, std::uint64_t max_length) {
    FileDescriptor file(::open(partial.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    struct stat st {};
    if (!file.ok() || ::fstat(file.get(), &st) != 0)
      return tl::unexpected(StorageError("cannot write the download"));
    std::uint64_t have = static_cast<std::uint64_t>(st.st_size);
    if (have > max_length) {
      if (::ftruncate(file.get(), 0) != 0) return tl::unexpected(StorageError("cannot write the download"));
      have = 0;
    }
    auto stream = Connect();
    if (!stream) return tl::unexpected(stream.error());
    http::request<http::empty_body> req{http::verb::get, AttachmentPath(id), 11};
    Prepare(req);
    if (have > 0) req.set(http::field::range, "bytes=" + std::to_string(have) + "-");
    Arm(**stream);
    if (auto ec = Run([&](auto handler) { http::async_write(**stream, req, handler); })) {
      return tl::unexpected(NetworkError(ec, "the connection broke during the download"));
    }
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    // The length is checked against max_length below, with its own error;
    // an answer without one is refused.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    Arm(**stream);
    if (auto ec = Run([&](auto handler) { http::async_read_header(**stream, buffer_, parser, handler); })) {
      return tl::unexpected(NetworkError(ec, "the connection broke during the download"));
    }
    const auto& head = parser.get();
    std::uint64_t total = 0;
    switch (head.result()) {
      case http::status::ok: {
        auto length = parser.content_length();
        if (!length) return Fail(ClientErrc::kServerError, "the download has no length");
        total = *length;
        if (total > max_length)
          return Fail(ClientErrc::kTooLarge, "the attachment is longer than its size allows");
        if (have > 0 && ::ftruncate(file.get(), 0) != 0)
          return tl::unexpected(StorageError("cannot write the download"));
        have = 0;
        break;
      }
      case http::status::partial_content: {
        auto range = ParseContentRange(HeaderValue(head, "Content-Range"));
        auto length = parser.content_length();
        if (!range || range->unsatisfied || range->first != have || !length ||
            *length != range->last - range->first + 1) {
          return Fail(ClientErrc::kServerError, "the server resumed the download at the wrong place");
        }
        total = range->length;
        if (total > max_length)
          return Fail(ClientErrc::kTooLarge, "the attachment is longer than its size allows");
        break;
      }
      case http::status::range_not_satisfiable: {
        auto range = ParseContentRange(HeaderValue(head, "Content-Range"));
        if (!range || !range->unsatisfied)
          return Fail(ClientErrc::kServerError, "the server's range answer is malformed");
        if (range->length == have) return {};  // a previous attempt had everything
        if (::ftruncate(file.get(), 0) != 0) return tl::unexpected(StorageError("cannot write the download"));
        return Fail(ClientErrc::kConflict, "the partial download is longer than the attachment");
      }
      default:
        return tl::unexpected(StatusError(head.result()));
    }
    if (::lseek(file.get(), static_cast<off_t>(have), SEEK_SET) < 0) {
      return tl::unexpected(StorageError("cannot write the download"));
    }
    std::vector<std::uint8_t> piece(kPiece);
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      Arm(**stream);
      error_code ec = Run([&](auto handler) { http::async_read(**stream, buffer_, parser, handler); });
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t n = piece.size() - parser.get().body().size;
      if (!WriteAll(file.get(), piece.data(), n))
        return tl::unexpected(StorageError("cannot write the download"));
      have += n;
      if (n > 0 && options_.progress) options_.progress(have, total);
      if (ec) {
        // What arrived is kept; the next attempt resumes after it.
        if (::fsync(file.get()) != 0) return tl::unexpected(StorageError("cannot write the download"));
        return tl::unexpected(NetworkError(ec, "the connection broke during the download"));
      }
    }
    if (have != total) return Fail(ClientErrc::kServerError, "the download ended early");
    if (::fsync(file.get()) != 0) return tl::unexpected(StorageError("cannot write the download"));
    return {};
  }

  AttachmentTransferOptions options_;
  net::io_context io_;
  ssl::context tls_;
  std::string authorization_;
  beast::flat_buffer buffer_{kPiece + kMaxHeaderBytes};
};

AttachmentTransfer::AttachmentTransfer(AttachmentTransferOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
AttachmentTransfer::~AttachmentTransfer() = default;

ClientResult<ContentId> AttachmentTransfer::Create(std::uint64_t length) { return impl_->Create(length); }

ClientResult<std::uint64_t> AttachmentTransfer::Offset(const ContentId& id) {
  auto state = impl_->Head(id);
  if (!state) return tl::unexpected(state.error());
  return state->offset;
}

ClientStatus AttachmentTransfer::Upload(const ContentId& id, const std::filesystem::path& blob) {
  return impl_->Upload(id, blob);
}

ClientStatus AttachmentTransfer::Download(const ContentId& id, const std::filesystem::path& partial,
                                          std::uint64_t max_length) {
  return impl_->Download(id, partial, max_length);
}

}  // namespace parley::client
