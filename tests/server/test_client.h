// Blocking TLS clients for driving a real server in tests: HTTPS requests
// and a WebSocket at /v1/websocket, both with Boost.Beast over OpenSSL.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace parley::server::testing {

enum class TlsVersion { kTls13, kTls12Only };

// A client TLS context that does not verify the server (tests pin by
// fingerprint instead).
std::shared_ptr<boost::asio::ssl::context> ClientTlsContext(TlsVersion version = TlsVersion::kTls13);

// Lower-case hex SHA-256 of the certificate the peer presented.
std::string PeerFingerprint(SSL* ssl);

class HttpsClient {
 public:
  explicit HttpsClient(std::uint16_t port, TlsVersion version = TlsVersion::kTls13);
  // TCP connect and TLS handshake.
  boost::system::error_code Connect();
  // The same from `source_address` (another local address, e.g. "127.0.0.2",
  // to appear as another client) to the server at `server_address` (of the
  // same family).
  boost::system::error_code ConnectFrom(const std::string& source_address,
                                        const std::string& server_address = "127.0.0.1");
  // One request on the open connection; `ec` set on failure.
  boost::beast::http::response<boost::beast::http::string_body> Request(boost::beast::http::verb method,
                                                                        const std::string& target,
                                                                        boost::system::error_code& ec,
                                                                        const std::string& body = "",
                                                                        bool keep_alive = true);
  // Sends a request whose head is written, then the body in pieces
  // ("Transfer-Encoding: chunked" when `chunked`, else Content-Length).
  boost::beast::http::response<boost::beast::http::string_body> RequestChunked(
      boost::beast::http::verb method, const std::string& target, const std::string& body, std::size_t piece,
      bool chunked, boost::system::error_code& ec);
  // Reads a response to a HEAD request (no body).
  boost::beast::http::response<boost::beast::http::empty_body> Head(const std::string& target,
                                                                    boost::system::error_code& ec,
                                                                    const std::string& authorization = "");
  // Writes `request` and reads the response.
  boost::beast::http::response<boost::beast::http::string_body> Send(
      boost::beast::http::request<boost::beast::http::string_body> request, boost::system::error_code& ec);
  // Sends the head of `request` with "Expect: 100-continue" and waits for the
  // server: 100 Continue, then `body_bytes_to_send` bytes of its body and
  // the final response (`interim` 100); or a final response at once
  // (`interim` 0, nothing of the body is sent). With `half_close`, the TCP
  // connection is half-closed after the bytes instead of reading a response
  // (an interrupted upload); the result is then empty.
  boost::beast::http::response<boost::beast::http::string_body> SendExpectingContinue(
      boost::beast::http::request<boost::beast::http::string_body> request, std::size_t body_bytes_to_send,
      bool half_close, unsigned& interim, boost::system::error_code& ec);
  // Closes the TCP connection without a TLS close_notify.
  void Abort();
  SSL* native_ssl() { return stream_.native_handle(); }

 private:
  std::uint16_t port_;
  boost::asio::io_context io_context_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::beast::ssl_stream<boost::asio::ip::tcp::socket> stream_;
  boost::beast::flat_buffer buffer_;
};

class WebSocketClient {
 public:
  explicit WebSocketClient(std::uint16_t port);
  boost::system::error_code Connect();
  boost::system::error_code SendBinary(const std::string& bytes);
  boost::system::error_code SendText(const std::string& text);
  // Sends one fragment of a binary message (the message ends with `last`).
  boost::system::error_code SendFragment(const std::string& bytes, bool last);
  // Writes only the header of a masked, final binary frame that announces
  // `length` payload bytes, none of which follow: a peer that checks the
  // announced length refuses it before reading any payload.
  boost::system::error_code SendFrameHeader(std::uint64_t length);
  // Reads one message. On a close from the server, returns
  // websocket::error::closed and close_reason() holds the server's reason.
  boost::system::error_code Read(std::string& message, bool* binary = nullptr);
  // Like Read, but gives up after `limit`: returns nullopt when nothing
  // arrived (the connection is unusable afterwards).
  std::optional<boost::system::error_code> ReadFor(std::chrono::milliseconds limit, std::string& message);
  boost::beast::websocket::close_reason close_reason() const { return ws_.reason(); }
  boost::system::error_code Close();

 private:
  std::uint16_t port_;
  boost::asio::io_context io_context_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::beast::websocket::stream<boost::beast::ssl_stream<boost::asio::ip::tcp::socket>> ws_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace parley::server::testing
