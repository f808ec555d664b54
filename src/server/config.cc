#include "server/config.h"

#include <toml++/toml.h>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

namespace parley::server {
namespace {

// Reads the keys of one [section], recording an error per bad value and per
// key it does not know.
class SectionReader {
 public:
  SectionReader(const toml::table* table, std::string section, std::vector<std::string>& errors)
      : table_(table), section_(std::move(section)), errors_(errors) {}

  template <class T>
  void Unsigned(std::string_view key, std::uint64_t min, std::uint64_t max, T& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return;
    const auto value = node->value_exact<std::int64_t>();
    if (!value || *value < 0 || static_cast<std::uint64_t>(*value) < min ||
        static_cast<std::uint64_t>(*value) > max) {
      Error(key, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
      return;
    }
    out = static_cast<T>(*value);
  }

  void Boolean(std::string_view key, bool& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return;
    const auto value = node->value_exact<bool>();
    if (!value) {
      Error(key, "must be true or false");
      return;
    }
    out = *value;
  }

  void String(std::string_view key, std::string& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return;
    const auto value = node->value_exact<std::string>();
    if (!value) {
      Error(key, "must be a string");
      return;
    }
    out = *value;
  }

  void Path(std::string_view key, std::filesystem::path& out) {
    std::string text = out.string();
    String(key, text);
    out = text;
  }

  template <class E>
  void Choice(std::string_view key, std::initializer_list<std::pair<std::string_view, E>> choices, E& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return;
    const auto value = node->value_exact<std::string>();
    std::string names;
    for (const auto& [name, e] : choices) {
      if (value && *value == name) {
        out = e;
        return;
      }
      names += names.empty() ? "" : ", ";
      names += "\"" + std::string(name) + "\"";
    }
    Error(key, "must be one of " + names);
  }

  // A token bucket as an inline table { capacity = N, refill_per_hour = R }.
  void Bucket(std::string_view key, TokenBucketConfig& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return;
    const toml::table* bucket = node->as_table();
    if (bucket == nullptr) {
      Error(key, "must be a table { capacity = N, refill_per_hour = R }");
      return;
    }
    for (auto&& [k, v] : *bucket) {
      if (k.str() != "capacity" && k.str() != "refill_per_hour") {
        Error(std::string(key) + "." + std::string(k.str()), "unknown key");
      }
    }
    TokenBucketConfig result = out;
    if (!Number(*bucket, key, "capacity", result.capacity) ||
        !Number(*bucket, key, "refill_per_hour", result.refill_per_hour)) {
      return;
    }
    out = result;
  }

  // Reports keys that no reader asked for.
  void Finish() {
    if (table_ == nullptr) return;
    for (auto&& [k, v] : *table_) {
      if (known_.count(std::string(k.str())) == 0) Error(k.str(), "unknown key");
    }
  }

 private:
  const toml::node* Find(std::string_view key) {
    known_.insert(std::string(key));
    if (table_ == nullptr) return nullptr;
    return table_->get(key);
  }

  bool Number(const toml::table& bucket, std::string_view key, std::string_view field, double& out) {
    const toml::node* node = bucket.get(field);
    if (node == nullptr) return true;
    std::optional<double> value;
    if (auto i = node->value_exact<std::int64_t>()) value = static_cast<double>(*i);
    if (auto d = node->value_exact<double>()) value = *d;
    if (!value || !std::isfinite(*value) || *value < 0 || *value > 1e15) {
      Error(std::string(key) + "." + std::string(field), "must be a number between 0 and 1e15");
      return false;
    }
    out = *value;
    return true;
  }

  void Error(std::string_view key, const std::string& what) {
    errors_.push_back(section_ + "." + std::string(key) + ": " + what);
  }

  const toml::table* table_;
  std::string section_;
  std::vector<std::string>& errors_;
  std::set<std::string> known_;
};

const toml::table* Section(const toml::table& root, std::string_view name, std::vector<std::string>& errors) {
  const toml::node* node = root.get(name);
  if (node == nullptr) return nullptr;
  if (!node->is_table()) {
    errors.push_back(std::string(name) + ": must be a [" + std::string(name) + "] section");
    return nullptr;
  }
  return node->as_table();
}

void ReadConfig(const toml::table& root, ServerConfig& config, std::vector<std::string>& errors) {
  static const std::set<std::string_view> kSections = {"server",  "tls",         "store",      "registration",
                                                       "log",     "limits",      "messages",   "keys",
                                                       "devices", "attachments", "rate_limits"};
  for (auto&& [k, v] : root) {
    if (kSections.count(k.str()) == 0) errors.push_back(std::string(k.str()) + ": unknown section");
  }

  {
    SectionReader r(Section(root, "server", errors), "server", errors);
    r.String("listen_address", config.listen_address);
    r.Unsigned("port", 0, 65535, config.port);
    r.Unsigned("threads", 0, 1024, config.threads);
    r.Path("data_dir", config.data_dir);
    r.Unsigned("drain_timeout_seconds", 0, kMaxTimeoutSeconds, config.drain_timeout_seconds);
    r.Unsigned("store_threads", 1, 256, config.store_threads);
    r.Unsigned("purge_interval_seconds", 1, 86400, config.purge_interval_seconds);
    r.Unsigned("disabled_account_check_seconds", 1, 3600, config.disabled_account_check_seconds);
    r.Finish();
  }
  {
    SectionReader r(Section(root, "tls", errors), "tls", errors);
    r.Path("certificate", config.tls_certificate);
    r.Path("private_key", config.tls_private_key);
    r.Finish();
  }
  {
    SectionReader r(Section(root, "store", errors), "store", errors);
    r.String("url", config.store_url);
    r.Finish();
  }
  {
    SectionReader r(Section(root, "registration", errors), "registration", errors);
    r.Choice("mode", {{"open", RegistrationMode::kOpen}, {"invitation", RegistrationMode::kInvitation}},
             config.registration_mode);
    r.Finish();
  }
  {
    SectionReader r(Section(root, "log", errors), "log", errors);
    r.Choice("level",
             {{"trace", LogLevel::kTrace},
              {"debug", LogLevel::kDebug},
              {"info", LogLevel::kInfo},
              {"warn", LogLevel::kWarn},
              {"error", LogLevel::kError},
              {"off", LogLevel::kOff}},
             config.log_level);
    r.Finish();
  }
  {
    LimitsConfig& l = config.limits;
    SectionReader r(Section(root, "limits", errors), "limits", errors);
    r.Unsigned("max_connections", 1, kMaxMaxConnections, l.max_connections);
    r.Unsigned("max_connections_per_address", 1, kMaxMaxConnections, l.max_connections_per_address);
    r.Unsigned("max_frame_bytes", kMinMaxFrameBytes, kMaxMaxFrameBytes, l.max_frame_bytes);
    r.Unsigned("max_in_flight_requests", 1, kMaxMaxInFlightRequests, l.max_in_flight_requests);
    r.Unsigned("max_write_queue_bytes", kMinMaxFrameBytes, kMaxMaxWriteQueueBytes, l.max_write_queue_bytes);
    r.Unsigned("http_header_limit_bytes", kMinHttpHeaderLimitBytes, kMaxHttpHeaderLimitBytes,
               l.http_header_limit_bytes);
    r.Unsigned("http_body_limit_bytes", 0, kMaxHttpBodyLimitBytes, l.http_body_limit_bytes);
    r.Unsigned("handshake_timeout_seconds", 1, kMaxTimeoutSeconds, l.handshake_timeout_seconds);
    r.Unsigned("idle_timeout_seconds", 1, kMaxTimeoutSeconds, l.idle_timeout_seconds);
    r.Unsigned("authentication_timeout_seconds", 1, kMaxAuthenticationTimeoutSeconds,
               l.authentication_timeout_seconds);
    r.Boolean("keepalive_pings", l.keepalive_pings);
    r.Finish();
  }
  {
    SectionReader r(Section(root, "messages", errors), "messages", errors);
    r.Unsigned("queue_limit_per_device", 1, 10000000, config.messages.queue_limit_per_device);
    r.Unsigned("expiry_days", 1, 3650, config.messages.expiry_days);
    r.Unsigned("push_window", 1, 4096, config.messages.push_window);
    r.Unsigned("max_push_window", 1, 4096, config.messages.max_push_window);
    r.Unsigned("commit_window_us", 0, 100000, config.messages.commit_window_us);
    r.Finish();
  }
  {
    SectionReader r(Section(root, "keys", errors), "keys", errors);
    r.Unsigned("prekeys_low_threshold", 0, 100000, config.keys.prekeys_low_threshold);
    r.Finish();
  }
  {
    SectionReader r(Section(root, "devices", errors), "devices", errors);
    r.Unsigned("link_code_validity_seconds", 60, 86400, config.devices.link_code_validity_seconds);
    r.Finish();
  }
  {
    SectionReader r(Section(root, "attachments", errors), "attachments", errors);
    r.Unsigned("max_bytes", 1, kMaxHttpBodyLimitBytes, config.attachments.max_bytes);
    r.Unsigned("expiry_days", 1, 3650, config.attachments.expiry_days);
    r.Unsigned("upload_expiry_hours", 1, 24 * 365, config.attachments.upload_expiry_hours);
    r.Finish();
  }
  {
    RateLimitsConfig& rl = config.rate_limits;
    SectionReader r(Section(root, "rate_limits", errors), "rate_limits", errors);
    r.Bucket("registrations_per_address", rl.registrations_per_address);
    r.Bucket("unauthenticated_requests_per_address", rl.unauthenticated_requests_per_address);
    r.Bucket("requests_per_device", rl.requests_per_device);
    r.Bucket("prekey_fetches_per_account", rl.prekey_fetches_per_account);
    r.Bucket("link_codes_per_account", rl.link_codes_per_account);
    r.Bucket("messages_per_sender_recipient_pair", rl.messages_per_sender_recipient_pair);
    r.Bucket("first_contacts_per_account", rl.first_contacts_per_account);
    r.Bucket("first_contacts_per_new_account", rl.first_contacts_per_new_account);
    r.Bucket("attachment_bytes_per_account", rl.attachment_bytes_per_account);
    r.Unsigned("new_account_age_hours", 0, 24 * 365, rl.new_account_age_hours);
    r.Unsigned("max_tracked_keys", 1, kMaxRateLimitMaxTrackedKeys, rl.max_tracked_keys);
    r.Unsigned("ipv6_prefix_length", kMinIpv6PrefixLength, kMaxIpv6PrefixLength, rl.ipv6_prefix_length);
    r.Finish();
  }

  if (config.limits.max_write_queue_bytes < config.limits.max_frame_bytes) {
    errors.push_back("limits.max_write_queue_bytes: must be at least limits.max_frame_bytes");
  }
  if (config.tls_certificate.empty() != config.tls_private_key.empty()) {
    errors.push_back("tls: set both certificate and private_key, or neither (self-signed)");
  }
  if (config.listen_address.empty()) errors.push_back("server.listen_address: must not be empty");
  if (config.data_dir.empty()) errors.push_back("server.data_dir: must not be empty");
}

}  // namespace

tl::expected<ServerConfig, ConfigError> ParseConfig(std::string_view toml_text,
                                                    std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream out;
    out << source_name << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return tl::unexpected(ConfigError{out.str()});
  }
  ServerConfig config;
  std::vector<std::string> errors;
  ReadConfig(root, config, errors);
  if (!errors.empty()) {
    std::string message;
    for (const std::string& e : errors) {
      if (!message.empty()) message += "\n";
      message += std::string(source_name) + ": " + e;
    }
    return tl::unexpected(ConfigError{message});
  }
  return config;
}

tl::expected<ServerConfig, ConfigError> LoadConfigFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(ConfigError{path.string() + ": cannot open the configuration file"});
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return tl::unexpected(ConfigError{path.string() + ": cannot read"});
  return ParseConfig(text.str(), path.string());
}

std::string EffectiveStoreUrl(const ServerConfig& config) {
  if (!config.store_url.empty()) return config.store_url;
  return "sqlite:" + (config.data_dir / "parley.db").string();
}

std::uint32_t EffectiveThreads(const ServerConfig& config) {
  if (config.threads != 0) return config.threads;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

std::string_view ToString(RegistrationMode mode) {
  switch (mode) {
    case RegistrationMode::kOpen:
      return "open";
    case RegistrationMode::kInvitation:
      return "invitation";
  }
  return "unknown";
}

std::string_view ToString(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "unknown";
}

}  // namespace parley::server
