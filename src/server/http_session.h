// HttpSession: one TLS connection before (or instead of) a WebSocket: the
// TLS handshake, then HTTP/1.1 requests routed through the HttpRouter, until
// a request upgrades to the WebSocket endpoint (internal to the server
// library).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server/http_route.h"
#include "server/server_state.h"
#include "server/tls_stream.h"

namespace parley::server {

class HttpSession : public std::enable_shared_from_this<HttpSession>, public Drainable {
 public:
  // `address_key`: ServerState::AddressKeyOf the peer.
  HttpSession(TcpSocket&& socket, std::shared_ptr<ServerState> state, ConnectionLease lease,
              std::string address_key);
  ~HttpSession() override;

  void Start();
  void BeginDrain() override;
  void Abort() override;

  // The HttpExchange operations, on the session's strand. `request_number`
  // tells a stale exchange (of an earlier request) from the current one.
  void ReadBody(std::uint64_t request_number, std::function<void(HttpBodyChunk)> done);
  void Respond(std::uint64_t request_number, HttpResponse response);
  void StartResponse(std::uint64_t request_number, HttpStreamedResponseHead head,
                     std::function<void(bool)> done);
  void WriteBody(std::uint64_t request_number, std::vector<std::uint8_t> chunk,
                 std::function<void(bool)> done);
  void ExchangeDropped(std::uint64_t request_number);

  // Posts `work` to the session's strand.
  void Post(std::function<void()> work);

 private:
  enum class ResponseState { kNone, kStreaming, kDone };

  void OnHandshake(const boost::system::error_code& ec);
  void ReadRequest();
  void OnHeader(const boost::system::error_code& ec);
  void Route(HttpRequestHead head);
  void Upgrade();
  void ReadBodySome(std::function<void(HttpBodyChunk)> done);
  void OnResponseWritten(const boost::system::error_code& ec);
  void FinishRequest();
  void CloseGracefully();
  void CloseSocket();
  void ArmTimer(std::uint32_t seconds);
  void DisarmTimer();
  bool KeepAlive() const;
  // Wraps a route callback so that an exception it throws is logged and
  // closes the connection.
  template <class Arg>
  std::function<void(Arg)> Guard(std::function<void(Arg)> callback);

  TlsStream stream_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  std::shared_ptr<ServerState> state_;
  ConnectionLease lease_;
  std::string address_key_;

  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> parser_;
  std::uint64_t request_number_ = 0;
  bool head_request_ = false;
  bool request_keep_alive_ = false;
  bool waiting_for_request_ = false;
  bool reading_body_ = false;
  bool body_too_large_ = false;
  bool body_failed_ = false;
  // The request asked for "Expect: 100-continue" and has not got it yet.
  bool continue_owed_ = false;
  bool writing_ = false;
  bool closed_ = false;
  bool upgraded_ = false;
  bool response_keep_alive_ = false;
  std::uint64_t requests_served_ = 0;
  ResponseState response_state_ = ResponseState::kNone;

  std::optional<boost::beast::http::response<boost::beast::http::string_body>> response_;
  std::optional<boost::beast::http::response<boost::beast::http::buffer_body>> streamed_response_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::buffer_body>> serializer_;
  std::uint64_t streamed_remaining_ = 0;
  std::vector<std::uint8_t> read_chunk_;
  std::vector<std::uint8_t> write_chunk_;
};

}  // namespace parley::server
