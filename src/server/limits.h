// The transport's limits: defaults and the bounds a configuration may choose
// from. Every limit of parleyd is set explicitly from these (S6); the
// configuration file can change each default within its bounds.
#pragma once

#include <cstddef>
#include <cstdint>

namespace parley::server {

// Largest WebSocket message (one frame of the wire protocol) read from a
// client; larger ones close the connection with code 1009 (message too big).
// The most is the wire protocol's own frame limit (wire::kMaxFrameSize, which
// the request decoder enforces): a larger transport limit would only read
// frames that cannot be decoded. Before a connection authenticates the
// request handlers lower its limit to wire::kMaxUnauthenticatedFrameSize.
inline constexpr std::size_t kDefaultMaxFrameBytes = 512 * 1024;
inline constexpr std::size_t kMinMaxFrameBytes = 1024;
inline constexpr std::size_t kMaxMaxFrameBytes = 512 * 1024;

// Open TCP connections (HTTPS and WebSocket together). Past it, new
// connections are accepted and closed at once.
inline constexpr std::size_t kDefaultMaxConnections = 10000;
inline constexpr std::size_t kMaxMaxConnections = 1000000;

// Open TCP connections from one client address (its address key,
// server/address_key.h: an IPv4 address, or an IPv6 /64 by default). Past
// it, new connections from that address are accepted and closed at once
// (counted in parley_connections_rejected_per_address_total). 256 leaves room for a
// large NAT (a campus or a carrier-grade NAT puts many users behind one
// IPv4 address; each device holds one WebSocket, plus short attachment
// connections) while one address cannot take more than a small share of
// max_connections.
inline constexpr std::size_t kDefaultMaxConnectionsPerAddress = 256;

// Seconds a WebSocket connection may stay open without authenticating
// (Register, LinkDevice or Authenticate): then it is closed (1008,
// "authentication timeout"), however it answers pings.
inline constexpr std::uint32_t kDefaultAuthenticationTimeoutSeconds = 30;
inline constexpr std::uint32_t kMaxAuthenticationTimeoutSeconds = 3600;

// The IPv6 prefix every per-address control counts a peer under
// (rate_limits.ipv6_prefix_length, server/address_key.h). 64 is the usual
// end-site assignment: one holder of a /64 has 2^64 addresses, and keyed by
// the full address each of them would start with a full budget. Shorter
// prefixes (down to 32) group whole sites or providers' customers; 128
// counts each address on its own.
inline constexpr unsigned kDefaultIpv6PrefixLength = 64;
inline constexpr unsigned kMinIpv6PrefixLength = 32;
inline constexpr unsigned kMaxIpv6PrefixLength = 128;

// Keys (addresses, accounts, devices, pairs) one rate limit tracks at most
// (server/token_buckets.h: full buckets are forgotten; at the cap new keys
// are refused). A tracked key costs about 100 bytes.
inline constexpr std::size_t kDefaultRateLimitMaxTrackedKeys = 100000;
inline constexpr std::size_t kMaxRateLimitMaxTrackedKeys = 100000000;

// Frames handed to the FrameHandler and not yet answered, per connection.
// At the limit the connection stops reading until an answer is written.
inline constexpr std::size_t kDefaultMaxInFlightRequests = 32;
inline constexpr std::size_t kMaxMaxInFlightRequests = 4096;

// Bytes queued for sending on one connection. A client that does not read
// fast enough to stay under it is disconnected.
inline constexpr std::size_t kDefaultMaxWriteQueueBytes = 2 * 1024 * 1024;
inline constexpr std::size_t kMaxMaxWriteQueueBytes = 1024 * 1024 * 1024;

// HTTP request header bytes (request line and all fields).
inline constexpr std::size_t kDefaultHttpHeaderLimitBytes = 8 * 1024;
inline constexpr std::size_t kMinHttpHeaderLimitBytes = 1024;
inline constexpr std::size_t kMaxHttpHeaderLimitBytes = 1024 * 1024;

// HTTP request body bytes for routes that do not set their own limit.
inline constexpr std::size_t kDefaultHttpBodyLimitBytes = 64 * 1024;
inline constexpr std::uint64_t kMaxHttpBodyLimitBytes = std::uint64_t{64} * 1024 * 1024 * 1024;

// Seconds allowed for the TLS handshake plus the first HTTP request header
// (and so the WebSocket upgrade), and for a WebSocket close handshake.
inline constexpr std::uint32_t kDefaultHandshakeTimeoutSeconds = 10;
// Seconds of silence after which a connection is pinged (WebSocket, when
// keep-alive pings are on: the ping goes out after half of it and the
// connection closes if nothing arrives in the other half) or closed.
inline constexpr std::uint32_t kDefaultIdleTimeoutSeconds = 60;
// Microseconds between the starts of two group commits of the message queue
// while sends keep arriving (QueueWriter): a send waits at most this long for
// the commit that makes it durable to start; larger commits cost less CPU
// and disk per message (docs/benchmarks.md, "Commit window").
inline constexpr std::uint32_t kDefaultCommitWindowMicroseconds = 2000;
// Seconds a graceful shutdown waits for connections to close.
inline constexpr std::uint32_t kDefaultDrainTimeoutSeconds = 10;
inline constexpr std::uint32_t kMaxTimeoutSeconds = 24 * 3600;

// The chunk size in which request bodies are handed to HTTP routes.
inline constexpr std::size_t kHttpBodyChunkBytes = 64 * 1024;

}  // namespace parley::server
