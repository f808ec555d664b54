// ServerConfig: everything parleyd reads from its one TOML file.
//
// Every option has a default (a parleyd without a configuration file runs on
// 127.0.0.1:8443 with SQLite in ./parleyd-data), and every option is
// documented in docs/operations.md and parleyd.example.toml. Loading rejects
// unknown keys, wrong types and values outside their bounds, naming the key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "server/limits.h"

namespace parley::server {

enum class RegistrationMode { kOpen, kInvitation };

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// A token bucket: up to `capacity` tokens, refilled at `refill_per_hour`.
struct TokenBucketConfig {
  double capacity = 0;
  double refill_per_hour = 0;
};

// Abuse controls (S7). The request handlers enforce them; the transport only
// carries the values.
struct RateLimitsConfig {
  TokenBucketConfig registrations_per_address{5, 10};
  TokenBucketConfig unauthenticated_requests_per_address{60, 3600};
  // Every request of an authenticated device. A client sends one request
  // per recipient account of a group message, so a message to a group of
  // 100 is 100 requests: 2,000 lets a device send 20 of those at once and,
  // at 72,000 per hour (20 a second), one every 5 seconds for good, with
  // receipts, prekey fetches and syncs besides.
  TokenBucketConfig requests_per_device{2000, 72000};
  TokenBucketConfig prekey_fetches_per_account{100, 1000};
  // CreateLinkCode per account. Each code is a stored row until it is used
  // or purged, so the bucket bounds what one account keeps stored: at most
  // capacity + refill * link_code_validity codes live at once (20 with the
  // default 10-minute validity). Linking all five companion devices of an
  // account at once, with a retry each, fits in the capacity of 10; a person
  // who scans a code on each new device needs well over a minute per device,
  // which the refill of 60 per hour (one a minute) keeps up with.
  TokenBucketConfig link_codes_per_account{10, 60};
  TokenBucketConfig messages_per_sender_recipient_pair{120, 3600};
  TokenBucketConfig first_contacts_per_account{50, 50};
  TokenBucketConfig first_contacts_per_new_account{10, 10};
  // Bytes.
  TokenBucketConfig attachment_bytes_per_account{1024.0 * 1024 * 1024, 4096.0 * 1024 * 1024};
  // An account younger than this is "new" for first_contacts_per_new_account.
  std::uint32_t new_account_age_hours = 24;
  // Keys each limit tracks at most (server/token_buckets.h).
  std::size_t max_tracked_keys = kDefaultRateLimitMaxTrackedKeys;
  // The IPv6 prefix under which every per-address control (the *_per_address
  // buckets here, limits.max_connections_per_address) counts a peer
  // (server/address_key.h); IPv4 peers count by their full address.
  unsigned ipv6_prefix_length = kDefaultIpv6PrefixLength;
};

struct LimitsConfig {
  std::size_t max_connections = kDefaultMaxConnections;
  std::size_t max_connections_per_address = kDefaultMaxConnectionsPerAddress;
  std::size_t max_frame_bytes = kDefaultMaxFrameBytes;
  std::size_t max_in_flight_requests = kDefaultMaxInFlightRequests;
  std::size_t max_write_queue_bytes = kDefaultMaxWriteQueueBytes;
  std::size_t http_header_limit_bytes = kDefaultHttpHeaderLimitBytes;
  std::uint64_t http_body_limit_bytes = kDefaultHttpBodyLimitBytes;
  std::uint32_t handshake_timeout_seconds = kDefaultHandshakeTimeoutSeconds;
  std::uint32_t idle_timeout_seconds = kDefaultIdleTimeoutSeconds;
  std::uint32_t authentication_timeout_seconds = kDefaultAuthenticationTimeoutSeconds;
  bool keepalive_pings = true;
};

// Per-device message queues (enforced by the message handlers and the store).
struct MessagesConfig {
  std::uint32_t queue_limit_per_device = 10000;
  std::uint32_t expiry_days = 30;
  // Envelope pushes a connection may have unacknowledged at once, unless
  // its client asks for another window, of which it gets at most
  // max_push_window.
  std::uint32_t push_window = 64;
  std::uint32_t max_push_window = 1024;
  // While sends keep arriving, a group commit of the queue starts at most
  // this often (microseconds after the previous one started), gathering
  // what arrives meanwhile; after a quiet spell a send commits at once.
  // 0: each commit starts as soon as the previous one is done.
  std::uint32_t commit_window_us = kDefaultCommitWindowMicroseconds;
};

// Prekeys.
struct KeysConfig {
  // A device is sent PreKeysLow when it holds fewer one-time prekeys than this.
  std::uint32_t prekeys_low_threshold = 10;
};

// Linking companion devices.
struct DevicesConfig {
  // How long a link code (CreateLinkCode) stays valid.
  std::uint32_t link_code_validity_seconds = 600;
};

// Attachment blobs (enforced by the attachment routes).
struct AttachmentsConfig {
  std::uint64_t max_bytes = 100 * 1024 * 1024;
  // Finished attachments are deleted this long after their creation.
  std::uint32_t expiry_days = 30;
  // Unfinished uploads are deleted this long after their creation.
  std::uint32_t upload_expiry_hours = 24;
};

struct ServerConfig {
  std::string listen_address = "127.0.0.1";
  // 0 picks a free port (tests); the bound port is logged and can be written
  // to a file.
  std::uint16_t port = 8443;
  // Threads running the network event loop; 0 means one per CPU core.
  std::uint32_t threads = 0;
  std::filesystem::path data_dir = "parleyd-data";
  std::uint32_t drain_timeout_seconds = kDefaultDrainTimeoutSeconds;
  // Threads that run the request handlers' store work (the network threads
  // never wait for the store).
  std::uint32_t store_threads = 4;
  // Seconds between two runs of the expiry purge (expired messages,
  // attachments and link codes).
  std::uint32_t purge_interval_seconds = 600;
  // Seconds between two checks of the connected accounts for disabled or
  // deleted ones (parleyd admin disable-account, delete-account): the
  // longest such an account keeps a connection open.
  std::uint32_t disabled_account_check_seconds = 10;

  // PEM files. Both empty: a self-signed certificate kept in data_dir.
  std::filesystem::path tls_certificate;
  std::filesystem::path tls_private_key;

  // Empty: SQLite in data_dir (see EffectiveStoreUrl).
  std::string store_url;

  RegistrationMode registration_mode = RegistrationMode::kOpen;
  LogLevel log_level = LogLevel::kInfo;

  LimitsConfig limits;
  MessagesConfig messages;
  KeysConfig keys;
  DevicesConfig devices;
  AttachmentsConfig attachments;
  RateLimitsConfig rate_limits;
};

// An operator-facing explanation of why a configuration was rejected, e.g.
// "limits.max_frame_bytes: must be between 1024 and 16777216".
struct ConfigError {
  std::string message;
};

// Parses TOML text; `source_name` prefixes parse errors (usually the path).
tl::expected<ServerConfig, ConfigError> ParseConfig(std::string_view toml_text, std::string_view source_name);
// Reads and parses a file.
tl::expected<ServerConfig, ConfigError> LoadConfigFile(const std::filesystem::path& path);

// The store URL in effect: store_url, or "sqlite:<data_dir>/parley.db".
std::string EffectiveStoreUrl(const ServerConfig& config);
// The number of event-loop threads in effect (threads, or the core count).
std::uint32_t EffectiveThreads(const ServerConfig& config);

std::string_view ToString(RegistrationMode mode);
std::string_view ToString(LogLevel level);

}  // namespace parley::server
