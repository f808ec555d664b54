// parleyd: the Parley message server. Reads the configuration, prepares the
// data directory and TLS certificate, and runs the server until SIGINT or
// SIGTERM. Everything else lives in src/server.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "base/clock.h"
#include "crypto/random.h"
#include "server/admin_commands.h"
#include "server/attachment_routes.h"
#include "server/config.h"
#include "server/disabled_account_check.h"
#include "server/expiry_purge.h"
#include "server/file_limit.h"
#include "server/heap_trimmer.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/queue_depth_metrics.h"
#include "server/request_frame_handler.h"
#include "server/self_signed_certificate.h"
#include "server/server.h"
#include "store/server_store.h"

namespace {

using namespace parley::server;

// Command-line values that override the configuration file.
struct ServeOverrides {
  std::optional<std::string> listen_address;
  std::optional<std::uint16_t> port;
  std::optional<std::string> data_dir;
  std::string port_file;
};

int Fail(const std::string& message) {
  std::cerr << "parleyd: " << message << "\n";
  return 1;
}

std::optional<ServerConfig> LoadConfig(const std::string& path) {
  if (path.empty()) return ServerConfig{};
  auto config = LoadConfigFile(path);
  if (!config) {
    std::cerr << "parleyd: invalid configuration:\n" << config.error().message << "\n";
    return std::nullopt;
  }
  return *config;
}

// Writes the port to `path` through a temporary file, so a reader never sees
// a partial number.
bool WritePortFile(const std::string& path, std::uint16_t port) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

// What `parleyd admin` was asked to do.
struct AdminRequest {
  enum class Command {
    kNone,
    kCreateInvitation,
    kListAccounts,
    kDisableAccount,
    kEnableAccount,
    kDeleteAccount,
    kStats
  };
  Command command = Command::kNone;
  std::string username;
  // delete-account --yes: the operator confirmed it.
  bool confirmed = false;
  std::optional<std::uint32_t> valid_days;
};

// Opens the configured store: SQLite ("sqlite:PATH", "sqlite:///PATH" or a
// bare path; the default is a file in the data directory) or PostgreSQL
// ("postgresql://...").
std::unique_ptr<parley::store::ServerStore> OpenStore(const ServerConfig& config,
                                                      const parley::Clock& clock) {
  const std::string url = EffectiveStoreUrl(config);
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  parley::store::StoreOptions options;
  options.max_queue_depth = config.messages.queue_limit_per_device;
  options.max_attachment_bytes = config.attachments.max_bytes;
  auto store = parley::store::OpenServerStore(url, clock, options);
  if (!store) {
    const bool postgres = url.rfind("postgres", 0) == 0;
    // A PostgreSQL URL may carry a password: name only the backend.
    Fail("cannot open the store " + (postgres ? std::string("(postgresql)") : url) + ": " +
         std::string(store.error().message));
    return nullptr;
  }
  return std::move(*store);
}

// Steps of the walk over idempotence records that `admin delete-account`
// runs itself: as many as a purge run of the server (10,000,000 records).
constexpr std::size_t kAdminPurgeSteps = ExpiryPurge::kMaxBatches;

int DeleteAccount(const ServerConfig& config, parley::store::ServerStore& store,
                  const AdminRequest& request) {
  if (!request.confirmed) {
    auto account = store.GetAccountByUsername(request.username);
    if (!account) return Fail(request.username + ": " + std::string(account.error().message));
    return Fail("not deleted: deleting " + request.username + " (" + account->id.value().ToString() +
                ") removes its devices, keys, queued messages and attachments for good and cannot be "
                "undone; run the command again with --yes to delete it");
  }
  auto deleted = DeleteAccountByUsername(store, request.username);
  if (!deleted) return Fail(request.username + ": " + std::string(deleted.error().message));
  std::cout << request.username << " deleted (" << deleted->id.value().ToString() << ")\n";
  std::cerr << "parleyd: the username is free; a running server closes the account's connections within "
            << config.disabled_account_check_seconds << " s (server.disabled_account_check_seconds)\n";
  auto purged = PurgeDeletedAccountRecords(store, kAdminPurgeSteps);
  if (purged && purged->done) {
    std::cerr << "parleyd: idempotence records of deleted accounts removed: " << purged->send_records << "\n";
  } else {
    std::cerr << "parleyd: "
              << (purged ? std::string("the idempotence records of deleted accounts are not all removed yet")
                         : "removing the idempotence records of deleted accounts failed: " +
                               std::string(purged.error().message))
              << "; a running server removes the rest at its next purge, within "
              << config.purge_interval_seconds
              << " s (server.purge_interval_seconds), or at its next start\n";
  }
  return 0;
}

int RunAdmin(const ServerConfig& config, const AdminRequest& request) {
  parley::SystemClock clock;
  auto store = OpenStore(config, clock);
  if (!store) return 1;
  using Command = AdminRequest::Command;
  switch (request.command) {
    case Command::kCreateInvitation: {
      parley::crypto::SystemRng rng;
      std::optional<std::int64_t> valid_for_ms;
      if (request.valid_days) valid_for_ms = std::int64_t{*request.valid_days} * 24 * 3600 * 1000;
      auto created = CreateInvitation(*store, rng, clock, valid_for_ms);
      if (!created) return Fail(std::string(created.error().message));
      std::cout << created->token << "\n";
      std::cerr << "parleyd: invitation created; it is shown only now"
                << (created->expires_ms ? ", valid until " + FormatUtc(*created->expires_ms) : std::string())
                << "\n";
      return 0;
    }
    case Command::kListAccounts: {
      auto listed = ListAccounts(*store, std::cout);
      return listed ? 0 : Fail(std::string(listed.error().message));
    }
    case Command::kDisableAccount:
    case Command::kEnableAccount: {
      const bool disable = request.command == Command::kDisableAccount;
      auto changed = SetAccountDisabledByUsername(*store, request.username, disable);
      if (!changed) return Fail(request.username + ": " + std::string(changed.error().message));
      std::cout << request.username << (disable ? " disabled" : " enabled") << "\n";
      if (disable) {
        std::cerr << "parleyd: a running server closes the account's connections within "
                  << config.disabled_account_check_seconds << " s (server.disabled_account_check_seconds)\n";
      }
      return 0;
    }
    case Command::kDeleteAccount:
      return DeleteAccount(config, *store, request);
    case Command::kStats: {
      auto stats = store->CollectStats();
      if (!stats) return Fail(std::string(stats.error().message));
      WriteStats(*stats, store->backend_name(), std::cout);
      std::cerr << "parleyd: counts from the store; rate-limit hits are counted by the running server: "
                   "parley_rate_limit_hits_total at /metrics\n";
      return 0;
    }
    case Command::kNone:
      break;
  }
  return Fail("unknown admin command");
}

int Serve(ServerConfig config, const ServeOverrides& overrides) {
  if (overrides.listen_address) config.listen_address = *overrides.listen_address;
  if (overrides.port) config.port = *overrides.port;
  if (overrides.data_dir) config.data_dir = *overrides.data_dir;
  ConfigureLogging(config.log_level);

  if (auto limit = RaiseOpenFileLimit()) {
    spdlog::info("event=open_file_limit soft_before={} soft={} hard={}", limit->soft_before,
                 limit->soft_after, limit->hard);
    if (limit->soft_after < config.limits.max_connections + 64) {
      spdlog::warn("event=open_file_limit_low soft={} max_connections={}", limit->soft_after,
                   config.limits.max_connections);
    }
  } else {
    spdlog::warn("event=open_file_limit_unknown");
  }

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Fail("cannot create the data directory " + config.data_dir.string() + ": " + ec.message());
  ::chmod(config.data_dir.c_str(), 0700);

  CertificateFiles tls;
  if (config.tls_certificate.empty()) {
    auto certificate = EnsureSelfSignedCertificate(config.data_dir);
    if (!certificate) return Fail(std::string(certificate.error().message));
    tls = certificate->files;
    spdlog::info("event=tls_certificate self_signed=true generated={} path=\"{}\" fingerprint_sha256={}",
                 certificate->generated, tls.certificate.string(), certificate->fingerprint_sha256);
    if (certificate->generated) {
      std::cout << "parleyd: generated a self-signed TLS certificate in " << tls.certificate.string()
                << "\nparleyd: its SHA-256 fingerprint (pin it in clients): "
                << certificate->fingerprint_sha256 << std::endl;
    }
  } else {
    tls = {config.tls_certificate, config.tls_private_key};
    auto fingerprint = CertificateFingerprint(tls.certificate);
    if (!fingerprint) return Fail(std::string(fingerprint.error().message) + ": " + tls.certificate.string());
    spdlog::info("event=tls_certificate self_signed=false path=\"{}\" fingerprint_sha256={}",
                 tls.certificate.string(), *fingerprint);
  }

  spdlog::info(
      "event=config store=\"{}\" registration={} max_connections={} max_frame_bytes={}",
      EffectiveStoreUrl(config).rfind("postgresql", 0) == 0 ? "postgresql" : EffectiveStoreUrl(config),
      ToString(config.registration_mode), config.limits.max_connections, config.limits.max_frame_bytes);

  parley::SystemClock clock;
  std::unique_ptr<parley::store::ServerStore> store = OpenStore(config, clock);
  if (!store) return 1;
  spdlog::info("event=store_open backend={}", store->backend_name());

  ServerParts parts;
  parts.metrics = std::make_shared<MetricsRegistry>();
  std::shared_ptr<MetricsRegistry> parts_metrics = parts.metrics;
  // Before any connection: the busy path keeps its free heap; a timer returns it.
  HeapTrimmer heap_trimmer(*parts_metrics, std::chrono::seconds(10));
  heap_trimmer.Start();
  // Read from the store when /metrics is scraped, at most every 5 s.
  QueueDepthMetrics queue_depths(*store, clock, *parts_metrics);
  auto attachments =
      std::make_unique<AttachmentService>(*store, clock, *parts.metrics, AttachmentOptionsFrom(config));
  // Before the handler, which tells it of deleted accounts (and goes first).
  ExpiryPurge purge(*store, clock, *parts_metrics, attachments.get(), ExpiryPurgeOptionsFrom(config));
  RequestHandlerOptions handler_options = RequestHandlerOptionsFrom(config);
  handler_options.account_deleted = [&purge] { purge.NotifyAccountDeleted(); };
  auto handler =
      std::make_shared<RequestFrameHandler>(*store, clock, *parts.metrics, std::move(handler_options));
  parts.frame_handler = handler;
  if (!attachments->AddRoutes(parts.routes)) return Fail("cannot add the attachment routes");
  parts.tls = tls;
  auto server = Server::Create(config, std::move(parts));
  if (!server) return Fail(std::string(server.error().message));

  if (!overrides.port_file.empty() && !WritePortFile(overrides.port_file, (*server)->port())) {
    return Fail("cannot write the port file " + overrides.port_file);
  }
  purge.Start();
  spdlog::info("event=purge_scheduled interval_seconds={} message_expiry_days={}",
               config.purge_interval_seconds, config.messages.expiry_days);
  // Accounts disabled or deleted by `parleyd admin` (another process) lose
  // their connections within one interval; a deletion found so starts the
  // purge of what the store left of the account.
  DisabledAccountCheck disabled_check(*handler, *store, *parts_metrics,
                                      std::chrono::seconds(config.disabled_account_check_seconds),
                                      [&purge] { purge.NotifyAccountDeleted(); });
  disabled_check.Start();
  (*server)->RunUntilSignal();
  disabled_check.Stop();
  purge.Stop();
  heap_trimmer.Stop();
  // The workers stop before the server state that owns the handler can go.
  handler->Stop();
  attachments->Stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parleyd: the Parley message server (TLS 1.3 WebSocket, HTTPS health and metrics)", "parleyd"};
  std::string config_path;
  app.add_option("-c,--config", config_path,
                 "TOML configuration file (see parleyd.example.toml); default: built-in defaults")
      ->check(CLI::ExistingFile);
  app.require_subcommand(0, 1);

  ServeOverrides overrides;
  CLI::App* serve =
      app.add_subcommand("serve", "Run the server until SIGINT or SIGTERM (the default command)");
  serve->fallthrough();
  serve->add_option("--listen", overrides.listen_address, "Override server.listen_address");
  serve->add_option("--port", overrides.port, "Override server.port (0 picks a free port)");
  serve->add_option("--data-dir", overrides.data_dir, "Override server.data_dir");
  serve->add_option("--port-file", overrides.port_file, "Write the bound port to this file once listening");

  CLI::App* admin = app.add_subcommand("admin", "Administration commands that work on the store");
  admin->fallthrough();
  admin->require_subcommand(1);
  AdminRequest admin_request;
  using Command = AdminRequest::Command;
  CLI::App* create_invitation =
      admin->add_subcommand("create-invitation", "Create a one-time registration token and print it");
  create_invitation
      ->add_option("--valid-days", admin_request.valid_days,
                   "Days the invitation stays valid (default: no expiry)")
      ->check(CLI::Range(1, 3650));
  create_invitation->callback([&] { admin_request.command = Command::kCreateInvitation; });
  admin->add_subcommand("list-accounts", "List accounts: id, username, creation time, state")->callback([&] {
    admin_request.command = Command::kListAccounts;
  });
  CLI::App* disable =
      admin->add_subcommand("disable-account", "Disable an account (its devices can no longer connect)");
  disable->add_option("username", admin_request.username, "The account's username")->required();
  disable->callback([&] { admin_request.command = Command::kDisableAccount; });
  CLI::App* enable = admin->add_subcommand("enable-account", "Enable a disabled account again");
  enable->add_option("username", admin_request.username, "The account's username")->required();
  enable->callback([&] { admin_request.command = Command::kEnableAccount; });
  CLI::App* delete_account = admin->add_subcommand(
      "delete-account", "Delete an account with its devices, keys and queued messages (needs --yes)");
  delete_account->add_option("username", admin_request.username, "The account's username")->required();
  delete_account->add_flag("--yes", admin_request.confirmed,
                           "Confirm the deletion; without it nothing is deleted");
  delete_account->callback([&] { admin_request.command = Command::kDeleteAccount; });
  admin->add_subcommand("stats", "Count accounts, devices and queued messages")->callback([&] {
    admin_request.command = Command::kStats;
  });

  CLI11_PARSE(app, argc, argv);

  std::optional<ServerConfig> config = LoadConfig(config_path);
  if (!config) return 2;
  if (*admin) return RunAdmin(*config, admin_request);
  return Serve(std::move(*config), overrides);
}
