// The generator of parley-load: one process's share of the connections,
// driven on one thread by one io_context.
//
// Parley connections are TLS 1.3 WebSockets speaking the wire protocol
// (src/wire); XMPP connections are direct-TLS client streams (RFC 6120 with
// SASL PLAIN and resource binding) to Prosody or ejabberd. Both send the
// same load: at a fixed total rate, a message from a random connected
// account of this process to a random account of the whole run, carrying
// (process, sequence number, send time on CLOCK_MONOTONIC) so the receiving
// process, whichever it is, measures the delivery latency.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "base/uuid.h"

namespace parley::load {

enum class Protocol { kParley, kXmpp };

// One account of the run. For XMPP only `username` is used.
struct Account {
  std::string username;
  Uuid account_id;
  std::array<std::uint8_t, 32> credential{};
  std::uint32_t registration_id = 0;
};

struct Target {
  Protocol protocol = Protocol::kParley;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  // Local addresses connections are bound to, in turn (127.0.0.x): each
  // gives its own range of ephemeral ports.
  std::vector<boost::asio::ip::address> sources;
  std::string xmpp_domain;
  std::string xmpp_password;
};

struct LoadShape {
  double messages_per_second = 0;  // this process's share
  double duration_seconds = 0;
  // After the load: stop waiting when every send was answered and nothing
  // arrived for a second, or after this long.
  double drain_seconds = 10;
  std::size_t message_bytes = 160;
  // Sends a Parley connection may have unanswered (the server's default
  // in-flight limit); a busy sender is replaced by another random one.
  std::size_t max_outstanding_per_connection = 32;
  std::size_t connect_concurrency = 200;
  double connect_timeout_seconds = 120;
  std::uint64_t seed = 1;
  // Parley: client message ids in the UUIDv7 layout, as the Parley client
  // makes them (src/client/message_id.h); false: 16 random bytes, as other
  // clients may send.
  bool time_ordered_ids = true;
  // Parley: the push window asked for at login (AuthenticateRequest field
  // 4), as the client does; 0 asks for none (the server's default).
  std::uint32_t push_window = 512;
};

// Registers `count` Parley accounts named <prefix><first + i> over the wire
// protocol (each with fresh identity and signed prekeys), `concurrency` at a
// time. Returns the accounts registered; failures are counted in `failed`
// and their reasons printed to stderr.
std::vector<Account> RegisterAccounts(const Target& target, const std::string& prefix, std::size_t first,
                                      std::size_t count, std::size_t concurrency, std::size_t& failed);

// Runs this process's part of a load run and exits the process's work:
// connects accounts[first, first + count), writes "ready connected=C
// failed=F\n" to control_out, waits for a line on control_in ("go\n"),
// sends the load, drains, writes "result ...\n" (see ResultLine) to
// control_out and returns 0; returns 1 when the control pipe fails.
int RunGeneratorProcess(const Target& target, const LoadShape& shape, const std::vector<Account>& accounts,
                        std::size_t first, std::size_t count, std::uint32_t process_index, int control_in,
                        int control_out);

}  // namespace parley::load
