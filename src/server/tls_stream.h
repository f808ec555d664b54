// The stream types of one connection (internal to the server library).
//
// TlsStream is TLS over a TCP socket with OpenSSL reading and writing the
// socket itself (a socket BIO on the non-blocking socket; Asio only waits
// for readiness). Asio's ssl::stream instead keeps two 17 KiB record buffers
// per connection and a 17 KiB BIO pair, all resident for the connection's whole
// life; here an idle connection holds only OpenSSL's SSL object, whose record
// buffers SSL_MODE_RELEASE_BUFFERS frees between records. That is most of the
// difference between ~70 and ~20 KiB per idle WebSocket (docs/benchmarks.md,
// "Server load").
//
// It has the members Beast and the sessions use of an ssl_stream:
// async_handshake, async_shutdown, async_read_some, async_write_some,
// get_executor, next_layer and native_handle, plus websocket teardown. All
// operations of one stream run on its strand (the socket's executor); a read
// and a write may be pending at once, as Beast's WebSocket needs.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace parley::server {

using TcpSocket = boost::asio::ip::tcp::socket;

namespace tls_socket_bio {

// The socket behind the BIO, and whether its last recv left it empty (it
// returned less than asked for, or nothing): then a read that finds nothing
// buffered in OpenSSL waits for the socket instead of trying a recv that
// would only say EAGAIN.
struct SocketState {
  int descriptor = -1;
  bool drained = false;
};

// OpenSSL's own socket BIO writes with write(2), which raises SIGPIPE on a
// connection the peer reset; this one sends with MSG_NOSIGNAL, as Asio does.
inline SocketState& State(BIO* bio) { return *static_cast<SocketState*>(BIO_get_data(bio)); }
inline int Descriptor(BIO* bio) { return State(bio).descriptor; }

inline bool WouldBlock() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

inline int Write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(Descriptor(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && WouldBlock()) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

inline int Read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(Descriptor(bio), data, static_cast<std::size_t>(size), 0);
  if (n < 0 && WouldBlock()) BIO_set_retry_read(bio);
  State(bio).drained = n < size;
  return static_cast<int>(n);
}

inline long Control(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

inline int Create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

inline const BIO_METHOD* Method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "parley tls socket");
    if (m == nullptr) throw std::bad_alloc();
    BIO_meth_set_write(m, &Write);
    BIO_meth_set_read(m, &Read);
    BIO_meth_set_ctrl(m, &Control);
    BIO_meth_set_create(m, &Create);
    return m;
  }();
  return method;
}

}  // namespace tls_socket_bio

class TlsStream {
 public:
  using executor_type = TcpSocket::executor_type;
  using next_layer_type = TcpSocket;
  using lowest_layer_type = TcpSocket;

  // Takes the connected socket; the handshake is done by async_handshake.
  // Throws std::bad_alloc when OpenSSL cannot allocate the connection.
  TlsStream(TcpSocket&& socket, boost::asio::ssl::context& context)
      : socket_(std::move(socket)), ssl_(SSL_new(context.native_handle())) {
    if (ssl_ == nullptr) throw std::bad_alloc();
    // OpenSSL may be asked to retry a write from another copy of the bytes
    // (Beast's buffers), and reports partial writes as async_write_some does.
    SSL_set_mode(
        ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
    // One recv for a record's header and body, and for records that arrived
    // together (a send and an ack), instead of two per record. Reads always
    // ask OpenSSL before waiting for the socket, so bytes it read ahead are
    // never stranded; the buffer is still released once empty.
    SSL_set_read_ahead(ssl_, 1);
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    if (socket_.is_open()) {
      BIO* bio = BIO_new(tls_socket_bio::Method());
      if (bio == nullptr) {
        SSL_free(ssl_);
        throw std::bad_alloc();
      }
      socket_state_.descriptor = socket_.native_handle();
      BIO_set_data(bio, &socket_state_);
      SSL_set_bio(ssl_, bio, bio);
    }
  }
  TlsStream(TlsStream&& other) noexcept
      : socket_(std::move(other.socket_)),
        ssl_(std::exchange(other.ssl_, nullptr)),
        socket_state_(other.socket_state_) {
    // The BIO points at the state of the stream that owns the SSL object.
    if (ssl_ != nullptr && SSL_get_rbio(ssl_) != nullptr) BIO_set_data(SSL_get_rbio(ssl_), &socket_state_);
  }
  TlsStream& operator=(TlsStream&&) = delete;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;
  ~TlsStream() {
    if (ssl_ != nullptr) SSL_free(ssl_);
  }

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  TcpSocket& next_layer() noexcept { return socket_; }
  const TcpSocket& next_layer() const noexcept { return socket_; }
  TcpSocket& lowest_layer() noexcept { return socket_; }
  SSL* native_handle() noexcept { return ssl_; }

  template <class Handler>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Handler&& handler) {
    if (type == boost::asio::ssl::stream_base::server) {
      SSL_set_accept_state(ssl_);
    } else {
      SSL_set_connect_state(ssl_);
    }
    return Run<void(boost::system::error_code)>(Kind::kHandshake, nullptr, std::forward<Handler>(handler));
  }

  // Sends close_notify and waits for the peer's, as Asio's ssl::stream does
  // (callers bound the wait with their close timeouts).
  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return Run<void(boost::system::error_code)>(Kind::kShutdown, nullptr, std::forward<Handler>(handler));
  }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    boost::asio::mutable_buffer first;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      if (boost::asio::mutable_buffer(*it).size() != 0) {
        first = *it;
        break;
      }
    }
    return Run<void(boost::system::error_code, std::size_t)>(Kind::kRead, first,
                                                             std::forward<Handler>(handler));
  }

  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    // One TLS record for a WebSocket frame's header and payload: small
    // buffer sequences are gathered into one write.
    std::vector<unsigned char> gathered;
    boost::asio::const_buffer first;
    std::size_t total = 0;
    std::size_t pieces = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      const boost::asio::const_buffer b(*it);
      if (b.size() == 0) continue;
      if (pieces++ == 0) first = b;
      total += b.size();
    }
    if (pieces > 1) {
      gathered.resize(std::min<std::size_t>(total, kMaxGatheredBytes));
      boost::asio::buffer_copy(boost::asio::buffer(gathered), buffers);
    }
    return Run<void(boost::system::error_code, std::size_t)>(
        Kind::kWrite, first, std::forward<Handler>(handler), std::move(gathered));
  }

 private:
  enum class Kind { kHandshake, kShutdown, kRead, kWrite };
  // A TLS record's plaintext.
  static constexpr std::size_t kMaxGatheredBytes = 16 * 1024;

  // Maps a failed OpenSSL call; want_read / want_write set instead when
  // the call must wait for the socket.
  boost::system::error_code Failure(int ret, bool& want_read, bool& want_write) {
    const int err = SSL_get_error(ssl_, ret);
    want_read = err == SSL_ERROR_WANT_READ;
    want_write = err == SSL_ERROR_WANT_WRITE;
    if (want_read || want_write) return {};
    if (err == SSL_ERROR_ZERO_RETURN) return boost::asio::error::eof;
    if (err == SSL_ERROR_SYSCALL) {
      const unsigned long queued = ERR_get_error();
      if (queued != 0) return {static_cast<int>(queued), boost::asio::error::get_ssl_category()};
      if (errno != 0) return {errno, boost::system::system_category()};
      return boost::asio::ssl::error::stream_truncated;
    }
    const unsigned long queued = ERR_get_error();
    if (queued != 0) return {static_cast<int>(queued), boost::asio::error::get_ssl_category()};
    return boost::asio::ssl::error::unspecified_system_error;
  }

  // One operation: try OpenSSL, wait for the socket when it asks to, try
  // again. A result found at once is posted, so no handler runs inside the
  // call that started it.
  template <class Buffer>
  struct Op {
    Op(TlsStream& s, Kind k, Buffer b, std::vector<unsigned char> g)
        : stream(s), kind(k), buffer(b), gathered(std::move(g)) {}

    TlsStream& stream;
    Kind kind;
    Buffer buffer;
    std::vector<unsigned char> gathered;
    bool started = false;
    bool done = false;
    bool close_notify_sent = false;
    boost::system::error_code result_ec;
    std::size_t result = 0;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (done) return Complete(self);
      if (ec) {
        result_ec = ec;
        done = true;
        return Complete(self);
      }
      SSL* ssl = stream.ssl_;
      if constexpr (!std::is_same_v<Buffer, std::nullptr_t>) {
        // The socket was empty at the last recv and OpenSSL holds nothing:
        // wait for it (epoll reports data that arrived since at once).
        if (kind == Kind::kRead && !started && buffer.size() != 0 && stream.socket_state_.drained &&
            SSL_is_init_finished(ssl) && SSL_has_pending(ssl) == 0) {
          started = true;
          stream.socket_state_.drained = false;
          stream.socket_.async_wait(TcpSocket::wait_read, std::move(self));
          return;
        }
      }
      ERR_clear_error();
      errno = 0;
      int ret = 1;
      std::size_t n = 0;
      switch (kind) {
        case Kind::kHandshake:
          ret = SSL_do_handshake(ssl);
          break;
        case Kind::kShutdown:
          if (!close_notify_sent) {
            ret = SSL_shutdown(ssl);
            if (ret != 0) break;  // 1: both sent and received; < 0: failed or must wait
            close_notify_sent = true;
          }
          // Waits for the peer's close_notify, dropping what it still sends
          // before it (the rest of a frame, its WebSocket close).
          for (;;) {
            unsigned char dropped[4096];
            std::size_t dropped_bytes = 0;
            ret = SSL_read_ex(ssl, dropped, sizeof dropped, &dropped_bytes);
            if (ret != 1) break;
          }
          if (SSL_get_error(ssl, ret) == SSL_ERROR_ZERO_RETURN) ret = 1;
          break;
        case Kind::kRead:
        case Kind::kWrite:
          if constexpr (!std::is_same_v<Buffer, std::nullptr_t>) {
            if (!gathered.empty()) {
              ret = SSL_write_ex(ssl, gathered.data(), gathered.size(), &n);
            } else if (buffer.size() == 0) {
              ret = 1;
            } else if (kind == Kind::kRead) {
              ret = SSL_read_ex(ssl, const_cast<void*>(static_cast<const void*>(buffer.data())),
                                buffer.size(), &n);
            } else {
              ret = SSL_write_ex(ssl, buffer.data(), buffer.size(), &n);
            }
          }
          break;
      }
      if (ret == 1) {
        result = n;
      } else {
        bool want_read = false;
        bool want_write = false;
        result_ec = stream.Failure(ret, want_read, want_write);
        if (want_read || want_write) {
          started = true;
          stream.socket_.async_wait(want_read ? TcpSocket::wait_read : TcpSocket::wait_write,
                                    std::move(self));
          return;
        }
      }
      done = true;
      if (!started) {
        started = true;
        boost::asio::post(stream.socket_.get_executor(), std::move(self));
        return;
      }
      Complete(self);
    }

    template <class Self>
    void Complete(Self& self) {
      if constexpr (std::is_same_v<Buffer, std::nullptr_t>) {
        self.complete(result_ec);
      } else {
        self.complete(result_ec, result);
      }
    }
  };

  template <class Signature, class Buffer, class Handler>
  auto Run(Kind kind, Buffer buffer, Handler&& handler, std::vector<unsigned char> gathered = {}) {
    return boost::asio::async_compose<Handler, Signature>(
        Op<Buffer>(*this, kind, buffer, std::move(gathered)), handler, socket_);
  }

  TcpSocket socket_;
  SSL* ssl_;
  tls_socket_bio::SocketState socket_state_;
};

// WebSocket teardown (found by Beast through argument-dependent lookup):
// close_notify, then the socket is closed with the stream.
inline void teardown(boost::beast::role_type, TlsStream& stream, boost::system::error_code& ec) {
  ERR_clear_error();
  SSL_shutdown(stream.native_handle());
  ec = {};
}

template <class Handler>
void async_teardown(boost::beast::role_type, TlsStream& stream, Handler&& handler) {
  stream.async_shutdown(std::forward<Handler>(handler));
}

using WebSocketStream = boost::beast::websocket::stream<TlsStream>;

}  // namespace parley::server
