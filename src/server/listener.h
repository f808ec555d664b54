// Listener: accepts TCP connections and hands each to an HttpSession
// (internal to the server library).
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/server_state.h"

namespace parley::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& io_context, std::shared_ptr<ServerState> state);

  // Opens, binds and listens.
  boost::system::error_code Open(const boost::asio::ip::tcp::endpoint& endpoint);
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Starts accepting. Thread-safe.
  void Start();
  // Closes the listening socket. Thread-safe.
  void Stop();

 private:
  void DoAccept();
  void OnAccept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // Pauses accepting briefly when the process is out of file descriptors.
  boost::asio::steady_timer retry_timer_;
  std::shared_ptr<ServerState> state_;
  boost::asio::ip::tcp::endpoint local_endpoint_;
};

}  // namespace parley::server
