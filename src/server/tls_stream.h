// The stream types of one connection (internal to the server library).
//
// One alias, so the TLS layer can be swapped for a leaner one without
// touching the sessions. Beast's ssl_stream coalesces a WebSocket frame's
// header and payload into one TLS record per write (flat_stream), and keeps
// no write buffer between writes.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace parley::server {

using TcpSocket = boost::asio::ip::tcp::socket;
using TlsStream = boost::beast::ssl_stream<TcpSocket>;
using WebSocketStream = boost::beast::websocket::stream<TlsStream>;

}  // namespace parley::server
