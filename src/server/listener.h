// Listener: accepts TCP connections and hands each to an HttpSession
// (internal to the server library).
#pragma once

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/server_state.h"

namespace parley::server {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // `event_loop_threads`: how many threads run `io_context`. With one, a
  // connection needs no strand: that thread already runs its handlers one at
  // a time, in the order they were posted.
  Listener(boost::asio::io_context& io_context, std::shared_ptr<ServerState> state,
           std::uint32_t event_loop_threads);

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
  const bool strand_per_connection_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // Pauses accepting briefly when the process is out of file descriptors.
  boost::asio::steady_timer retry_timer_;
  std::shared_ptr<ServerState> state_;
  boost::asio::ip::tcp::endpoint local_endpoint_;
};

}  // namespace parley::server
