#include "server/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "server/request_frame_handler.h"

namespace parley::server {
namespace {

TEST(ServerConfig, EmptyFileGivesDefaults) {
  auto config = ParseConfig("", "test.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->listen_address, "127.0.0.1");
  EXPECT_EQ(config->port, 8443);
  EXPECT_EQ(config->limits.max_frame_bytes, 512u * 1024);
  EXPECT_EQ(config->registration_mode, RegistrationMode::kOpen);
  EXPECT_EQ(EffectiveStoreUrl(*config), "sqlite:parleyd-data/parley.db");
  EXPECT_GE(EffectiveThreads(*config), 1u);
}

// parleyd.example.toml documents every option with its default, so it
// must parse to exactly the built-in defaults.
TEST(ServerConfig, ExampleFileSpellsOutTheDefaults) {
  auto config = LoadConfigFile(PARLEY_EXAMPLE_CONFIG);
  ASSERT_TRUE(config) << config.error().message;
  const ServerConfig defaults;
  EXPECT_EQ(config->listen_address, defaults.listen_address);
  EXPECT_EQ(config->port, defaults.port);
  EXPECT_EQ(config->threads, defaults.threads);
  EXPECT_EQ(config->data_dir, defaults.data_dir);
  EXPECT_EQ(config->drain_timeout_seconds, defaults.drain_timeout_seconds);
  EXPECT_EQ(config->tls_certificate, defaults.tls_certificate);
  EXPECT_EQ(config->tls_private_key, defaults.tls_private_key);
  EXPECT_EQ(config->store_url, defaults.store_url);
  EXPECT_EQ(config->registration_mode, defaults.registration_mode);
  EXPECT_EQ(config->log_level, defaults.log_level);
  const LimitsConfig& l = config->limits;
  EXPECT_EQ(l.max_connections, defaults.limits.max_connections);
  EXPECT_EQ(l.max_connections_per_address, defaults.limits.max_connections_per_address);
  EXPECT_EQ(l.authentication_timeout_seconds, defaults.limits.authentication_timeout_seconds);
  EXPECT_EQ(l.max_frame_bytes, defaults.limits.max_frame_bytes);
  EXPECT_EQ(l.max_in_flight_requests, defaults.limits.max_in_flight_requests);
  EXPECT_EQ(l.max_write_queue_bytes, defaults.limits.max_write_queue_bytes);
  EXPECT_EQ(l.http_header_limit_bytes, defaults.limits.http_header_limit_bytes);
  EXPECT_EQ(l.http_body_limit_bytes, defaults.limits.http_body_limit_bytes);
  EXPECT_EQ(l.handshake_timeout_seconds, defaults.limits.handshake_timeout_seconds);
  EXPECT_EQ(l.idle_timeout_seconds, defaults.limits.idle_timeout_seconds);
  EXPECT_EQ(l.keepalive_pings, defaults.limits.keepalive_pings);
  EXPECT_EQ(config->messages.queue_limit_per_device, defaults.messages.queue_limit_per_device);
  EXPECT_EQ(config->messages.expiry_days, defaults.messages.expiry_days);
  EXPECT_EQ(config->messages.push_window, defaults.messages.push_window);
  EXPECT_EQ(config->messages.max_push_window, 1024u);
  EXPECT_EQ(config->messages.commit_window_us, 2000u);
  EXPECT_EQ(config->keys.prekeys_low_threshold, defaults.keys.prekeys_low_threshold);
  EXPECT_EQ(config->devices.link_code_validity_seconds, defaults.devices.link_code_validity_seconds);
  EXPECT_EQ(config->store_threads, defaults.store_threads);
  EXPECT_EQ(config->purge_interval_seconds, defaults.purge_interval_seconds);
  EXPECT_EQ(config->disabled_account_check_seconds, defaults.disabled_account_check_seconds);
  EXPECT_EQ(config->attachments.max_bytes, defaults.attachments.max_bytes);
  EXPECT_EQ(config->attachments.expiry_days, defaults.attachments.expiry_days);
  EXPECT_EQ(config->attachments.upload_expiry_hours, defaults.attachments.upload_expiry_hours);
  const RateLimitsConfig& r = config->rate_limits;
  const RateLimitsConfig& d = defaults.rate_limits;
  auto same = [](const TokenBucketConfig& a, const TokenBucketConfig& b) {
    return a.capacity == b.capacity && a.refill_per_hour == b.refill_per_hour;
  };
  EXPECT_TRUE(same(r.registrations_per_address, d.registrations_per_address));
  EXPECT_TRUE(same(r.unauthenticated_requests_per_address, d.unauthenticated_requests_per_address));
  EXPECT_TRUE(same(r.requests_per_device, d.requests_per_device));
  EXPECT_TRUE(same(r.prekey_fetches_per_account, d.prekey_fetches_per_account));
  EXPECT_TRUE(same(r.link_codes_per_account, d.link_codes_per_account));
  EXPECT_TRUE(same(r.messages_per_sender_recipient_pair, d.messages_per_sender_recipient_pair));
  EXPECT_TRUE(same(r.first_contacts_per_account, d.first_contacts_per_account));
  EXPECT_TRUE(same(r.first_contacts_per_new_account, d.first_contacts_per_new_account));
  EXPECT_TRUE(same(r.attachment_bytes_per_account, d.attachment_bytes_per_account));
  EXPECT_EQ(r.new_account_age_hours, d.new_account_age_hours);
  EXPECT_EQ(r.max_tracked_keys, d.max_tracked_keys);
  EXPECT_EQ(r.ipv6_prefix_length, d.ipv6_prefix_length);
  // Spelled out, not left to the defaults.
  std::ifstream in(PARLEY_EXAMPLE_CONFIG);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\nlink_codes_per_account = { capacity = 10, refill_per_hour = 60 }\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nipv6_prefix_length = 64\n"), std::string::npos);
}

TEST(ServerConfig, ReadsEverySection) {
  auto config = ParseConfig(R"(
[server]
listen_address = "0.0.0.0"
port = 0
threads = 3
data_dir = "/var/lib/parleyd"
drain_timeout_seconds = 2
store_threads = 7
purge_interval_seconds = 120
disabled_account_check_seconds = 3
[tls]
certificate = "/etc/parleyd/cert.pem"
private_key = "/etc/parleyd/key.pem"
[store]
url = "postgresql://parley@localhost/parley"
[registration]
mode = "invitation"
[log]
level = "debug"
[limits]
max_frame_bytes = 1024
max_write_queue_bytes = 1024
keepalive_pings = false
max_connections_per_address = 9
authentication_timeout_seconds = 5
[messages]
push_window = 16
max_push_window = 512
commit_window_us = 0
[keys]
prekeys_low_threshold = 25
[devices]
link_code_validity_seconds = 120
[attachments]
upload_expiry_hours = 6
[rate_limits]
registrations_per_address = { capacity = 2, refill_per_hour = 0.5 }
requests_per_device = { capacity = 30, refill_per_hour = 600 }
link_codes_per_account = { capacity = 4, refill_per_hour = 12 }
max_tracked_keys = 4096
ipv6_prefix_length = 56
)",
                            "t.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->listen_address, "0.0.0.0");
  EXPECT_EQ(config->port, 0);
  EXPECT_EQ(config->threads, 3u);
  EXPECT_EQ(EffectiveThreads(*config), 3u);
  EXPECT_EQ(config->data_dir, "/var/lib/parleyd");
  EXPECT_EQ(config->tls_private_key, "/etc/parleyd/key.pem");
  EXPECT_EQ(EffectiveStoreUrl(*config), "postgresql://parley@localhost/parley");
  EXPECT_EQ(config->registration_mode, RegistrationMode::kInvitation);
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
  EXPECT_EQ(config->limits.max_frame_bytes, 1024u);
  EXPECT_FALSE(config->limits.keepalive_pings);
  EXPECT_EQ(config->limits.max_connections_per_address, 9u);
  EXPECT_EQ(config->limits.authentication_timeout_seconds, 5u);
  EXPECT_EQ(config->rate_limits.requests_per_device.capacity, 30);
  EXPECT_EQ(config->rate_limits.requests_per_device.refill_per_hour, 600);
  EXPECT_EQ(config->rate_limits.max_tracked_keys, 4096u);
  EXPECT_EQ(config->rate_limits.link_codes_per_account.capacity, 4);
  EXPECT_EQ(config->rate_limits.link_codes_per_account.refill_per_hour, 12);
  EXPECT_EQ(config->rate_limits.ipv6_prefix_length, 56u);
  EXPECT_EQ(config->rate_limits.registrations_per_address.capacity, 2);
  EXPECT_EQ(config->rate_limits.registrations_per_address.refill_per_hour, 0.5);
  EXPECT_EQ(config->store_threads, 7u);
  EXPECT_EQ(config->purge_interval_seconds, 120u);
  EXPECT_EQ(config->disabled_account_check_seconds, 3u);
  EXPECT_EQ(config->messages.push_window, 16u);
  EXPECT_EQ(config->messages.max_push_window, 512u);
  EXPECT_EQ(config->keys.prekeys_low_threshold, 25u);
  EXPECT_EQ(config->devices.link_code_validity_seconds, 120u);
  EXPECT_EQ(config->attachments.upload_expiry_hours, 6u);
  const RequestHandlerOptions options = RequestHandlerOptionsFrom(*config);
  EXPECT_EQ(options.worker_threads, 7u);
  EXPECT_EQ(options.push_window, 16u);
  EXPECT_EQ(options.max_push_window, 512u);
  EXPECT_EQ(options.commit_window, std::chrono::microseconds(0));
  EXPECT_EQ(options.prekeys_low_threshold, 25u);
  // PostgreSQL: a read is a round trip, so sends run on a worker too.
  EXPECT_FALSE(options.sends_on_network_thread);
  EXPECT_TRUE(RequestHandlerOptionsFrom(ServerConfig{}).sends_on_network_thread);
  EXPECT_EQ(options.link_code_validity_ms, 120'000);
}

void ExpectError(const char* text, const char* expected_fragment) {
  auto config = ParseConfig(text, "bad.toml");
  ASSERT_FALSE(config) << text;
  EXPECT_NE(config.error().message.find(expected_fragment), std::string::npos) << config.error().message;
}

TEST(ServerConfig, RejectsWhatItCannotUse) {
  ExpectError("[server\nport = 1", "bad.toml:");                                       // TOML syntax
  ExpectError("[sever]\nport = 1", "sever: unknown section");                          // typo in a section
  ExpectError("[server]\nprot = 1", "server.prot: unknown key");                       // typo in a key
  ExpectError("[server]\nport = \"443\"", "server.port: must be an integer");          // wrong type
  ExpectError("[server]\nport = 65536", "server.port: must be an integer between 0");  // past the bound
  ExpectError("[limits]\nmax_frame_bytes = 1023", "limits.max_frame_bytes");           // under the bound
  // Over the bound: the request decoder reads no larger frame (wire::kMaxFrameSize).
  ExpectError("[limits]\nmax_frame_bytes = 524289",
              "limits.max_frame_bytes: must be an integer between 1024 and 524288");
  ExpectError("[limits]\nmax_connections_per_address = 0", "limits.max_connections_per_address");
  ExpectError("[limits]\nauthentication_timeout_seconds = 0", "limits.authentication_timeout_seconds");
  ExpectError("[limits]\nauthentication_timeout_seconds = 3601", "limits.authentication_timeout_seconds");
  ExpectError("[rate_limits]\nmax_tracked_keys = 0", "rate_limits.max_tracked_keys");
  ExpectError("[rate_limits]\nipv6_prefix_length = 31",
              "rate_limits.ipv6_prefix_length: must be an integer between 32 and 128");
  ExpectError("[rate_limits]\nipv6_prefix_length = 129", "rate_limits.ipv6_prefix_length");
  ExpectError("[limits]\nmax_in_flight_requests = 0", "limits.max_in_flight_requests");
  ExpectError("[devices]\nlink_code_validity_seconds = 59", "devices.link_code_validity_seconds");
  ExpectError("[limits]\nkeepalive_pings = 1", "limits.keepalive_pings: must be true or false");
  ExpectError("[limits]\nmax_frame_bytes = 4096\nmax_write_queue_bytes = 2048",
              "at least limits.max_frame_bytes");
  ExpectError("[registration]\nmode = \"closed\"",
              "registration.mode: must be one of \"open\", \"invitation\"");
  ExpectError("[log]\nlevel = \"loud\"", "log.level");
  ExpectError("[tls]\ncertificate = \"c.pem\"", "set both certificate and private_key");
  ExpectError("server = 1", "server: must be a [server] section");
  ExpectError("[rate_limits]\nregistrations_per_address = 5", "must be a table");
  ExpectError("[rate_limits]\nregistrations_per_address = { capacity = -1 }", "capacity: must be a number");
  ExpectError("[rate_limits]\nregistrations_per_address = { burst = 1 }", "burst: unknown key");
  ExpectError("[server]\nlisten_address = \"\"", "listen_address: must not be empty");
  ExpectError("[server]\nstore_threads = 0", "server.store_threads");
  ExpectError("[messages]\npush_window = 0", "messages.push_window");
  ExpectError("[messages]\nmax_push_window = 0", "messages.max_push_window");
  ExpectError("[messages]\nmax_push_window = 4097", "messages.max_push_window");
  ExpectError("[messages]\ncommit_window_us = 100001", "messages.commit_window_us");
  ExpectError("[keys]\nprekey_low = 3", "keys.prekey_low: unknown key");
}

TEST(ServerConfig, MissingFileIsAnError) {
  auto config = LoadConfigFile("/nonexistent/parleyd.toml");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace parley::server
