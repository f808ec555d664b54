#include "test_client.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <boost/beast/core/buffers_to_string.hpp>

#include "base/hex.h"

namespace parley::server::testing {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;
using tcp = net::ip::tcp;

std::shared_ptr<ssl::context> ClientTlsContext(TlsVersion version) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_verify_mode(ssl::verify_none);
  if (version == TlsVersion::kTls12Only) {
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(context->native_handle(), TLS1_2_VERSION);
  } else {
    SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_3_VERSION);
  }
  return context;
}

std::string PeerFingerprint(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  X509_digest(cert, EVP_sha256(), digest, &size);
  X509_free(cert);
  return ToHex(std::span<const std::uint8_t>(digest, size));
}

HttpsClient::HttpsClient(std::uint16_t port, TlsVersion version)
    : port_(port), tls_(ClientTlsContext(version)), stream_(io_context_, *tls_) {}

error_code HttpsClient::Connect() {
  error_code ec;
  beast::get_lowest_layer(stream_).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
  if (ec) return ec;
  stream_.handshake(ssl::stream_base::client, ec);
  return ec;
}

error_code HttpsClient::ConnectFrom(const std::string& source_address, const std::string& server_address) {
  error_code ec;
  tcp::socket& socket = beast::get_lowest_layer(stream_);
  const net::ip::address source = net::ip::make_address(source_address, ec);
  if (ec) return ec;
  const net::ip::address server = net::ip::make_address(server_address, ec);
  if (ec) return ec;
  socket.open(source.is_v4() ? tcp::v4() : tcp::v6(), ec);
  if (ec) return ec;
  socket.bind(tcp::endpoint(source, 0), ec);
  if (ec) return ec;
  socket.connect(tcp::endpoint(server, port_), ec);
  if (ec) return ec;
  stream_.handshake(ssl::stream_base::client, ec);
  return ec;
}

http::response<http::string_body> HttpsClient::Request(http::verb method, const std::string& target,
                                                       error_code& ec, const std::string& body,
                                                       bool keep_alive) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "localhost");
  req.keep_alive(keep_alive);
  if (!body.empty() || method == http::verb::post || method == http::verb::put) {
    req.body() = body;
    req.prepare_payload();
  }
  http::response<http::string_body> res;
  http::write(stream_, req, ec);
  if (ec) return res;
  http::read(stream_, buffer_, res, ec);
  return res;
}

http::response<http::string_body> HttpsClient::RequestChunked(http::verb method, const std::string& target,
                                                              const std::string& body, std::size_t piece,
                                                              bool chunked, error_code& ec) {
  http::response<http::string_body> res;
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "localhost");
  if (chunked) {
    req.chunked(true);
  } else {
    req.content_length(body.size());
  }
  http::request_serializer<http::empty_body> sr{req};
  http::write_header(stream_, sr, ec);
  if (ec) return res;
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const std::size_t n = std::min(piece, body.size() - at);
    if (chunked) {
      net::write(stream_, http::make_chunk(net::buffer(body.data() + at, n)), ec);
    } else {
      net::write(stream_, net::buffer(body.data() + at, n), ec);
    }
    if (ec) break;  // the server may answer early and stop reading
  }
  if (!ec && chunked) net::write(stream_, http::make_chunk_last(), ec);
  error_code read_ec;
  http::read(stream_, buffer_, res, read_ec);
  ec = read_ec;
  return res;
}

http::response<http::empty_body> HttpsClient::Head(const std::string& target, error_code& ec,
                                                   const std::string& authorization) {
  http::request<http::empty_body> req{http::verb::head, target, 11};
  req.set(http::field::host, "localhost");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  http::response<http::empty_body> res;
  http::write(stream_, req, ec);
  if (ec) return res;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // a HEAD response has no body, whatever its Content-Length says
  http::read(stream_, buffer_, parser, ec);
  return parser.release();
}

http::response<http::string_body> HttpsClient::Send(http::request<http::string_body> request,
                                                    error_code& ec) {
  request.set(http::field::host, "localhost");
  request.prepare_payload();
  http::response<http::string_body> res;
  http::write(stream_, request, ec);
  if (ec) return res;
  http::read(stream_, buffer_, res, ec);
  return res;
}

http::response<http::string_body> HttpsClient::SendExpectingContinue(http::request<http::string_body> request,
                                                                     std::size_t body_bytes_to_send,
                                                                     bool half_close, unsigned& interim,
                                                                     error_code& ec) {
  interim = 0;
  request.set(http::field::host, "localhost");
  request.set(http::field::expect, "100-continue");
  request.prepare_payload();
  http::response<http::string_body> res;
  http::request_serializer<http::string_body> sr{request};
  http::write_header(stream_, sr, ec);
  if (ec) return res;
  // The interim or the final response.
  http::response_parser<http::string_body> first;
  http::read_header(stream_, buffer_, first, ec);
  if (ec) return res;
  if (first.get().result() != http::status::continue_) {
    http::read(stream_, buffer_, first, ec);
    return first.release();
  }
  interim = 100;
  const std::string& body = request.body();
  net::write(stream_, net::buffer(body.data(), std::min(body_bytes_to_send, body.size())), ec);
  if (ec) return res;
  if (half_close) {
    beast::get_lowest_layer(stream_).shutdown(tcp::socket::shutdown_send, ec);
    return res;
  }
  http::read(stream_, buffer_, res, ec);
  return res;
}

void HttpsClient::Abort() {
  error_code ignored;
  beast::get_lowest_layer(stream_).close(ignored);
}

WebSocketClient::WebSocketClient(std::uint16_t port)
    : port_(port), tls_(ClientTlsContext()), ws_(io_context_, *tls_) {}

error_code WebSocketClient::Connect() {
  error_code ec;
  beast::get_lowest_layer(ws_).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
  if (ec) return ec;
  ws_.next_layer().handshake(ssl::stream_base::client, ec);
  if (ec) return ec;
  ws_.read_message_max(64 * 1024 * 1024);
  ws_.handshake("localhost", "/v1/websocket", ec);
  return ec;
}

error_code WebSocketClient::SendBinary(const std::string& bytes) {
  error_code ec;
  ws_.binary(true);
  ws_.write(net::buffer(bytes), ec);
  return ec;
}

error_code WebSocketClient::SendText(const std::string& text) {
  error_code ec;
  ws_.text(true);
  ws_.write(net::buffer(text), ec);
  return ec;
}

error_code WebSocketClient::SendFragment(const std::string& bytes, bool last) {
  error_code ec;
  ws_.binary(true);
  ws_.write_some(last, net::buffer(bytes), ec);
  return ec;
}

error_code WebSocketClient::SendFrameHeader(std::uint64_t length) {
  // RFC 6455 section 5.2: FIN and opcode 2, then the mask bit with the
  // 64-bit length form, the length big-endian, and a masking key.
  std::string header;
  header.push_back(static_cast<char>(0x82));
  header.push_back(static_cast<char>(0x80 | 127));
  for (int shift = 56; shift >= 0; shift -= 8) header.push_back(static_cast<char>((length >> shift) & 0xff));
  header.append("\x11\x22\x33\x44", 4);
  error_code ec;
  net::write(ws_.next_layer(), net::buffer(header), ec);
  return ec;
}

error_code WebSocketClient::Read(std::string& message, bool* binary) {
  error_code ec;
  buffer_.clear();
  ws_.read(buffer_, ec);
  message = beast::buffers_to_string(buffer_.data());
  if (binary != nullptr) *binary = ws_.got_binary();
  return ec;
}

std::optional<error_code> WebSocketClient::ReadFor(std::chrono::milliseconds limit, std::string& message) {
  std::optional<error_code> result;
  buffer_.clear();
  ws_.async_read(buffer_, [&](const error_code& ec, std::size_t) {
    result = ec;
    message = beast::buffers_to_string(buffer_.data());
  });
  io_context_.restart();
  io_context_.run_for(limit);
  return result;
}

error_code WebSocketClient::Close() {
  error_code ec;
  ws_.close(websocket::close_code::normal, ec);
  return ec;
}

}  // namespace parley::server::testing
