// parley register, link, whoami, devices, sync.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "cli_common.h"

namespace parley::cli {

using namespace parley::client;

void AddAccountCommands(Cli& cli) {
  struct Options {
    std::string server = "127.0.0.1:8443", pin, username, device_name = "cli", invitation, code;
    std::uint32_t unlink_id = 0;
    int wait_seconds = 10;
  };
  auto o = std::make_shared<Options>();
  const Globals& g = cli.globals;

  auto* reg = cli.app.add_subcommand(
      "register", "Create an account on a server; this profile becomes its primary device");
  reg->add_option("username", o->username, "3-32 of a-z A-Z 0-9 _ .")->required();
  reg->add_option("--server", o->server, "HOST:PORT of parleyd");
  reg->add_option("--pin", o->pin, "The server certificate's SHA-256 (64 hex digits), as parleyd prints it");
  reg->add_option("--device-name", o->device_name, "A name for this device");
  reg->add_option("--invitation", o->invitation, "Invitation token, when the server requires one");

  auto* link = cli.app.add_subcommand(
      "link", "Join an existing account as a new device, with a code from `devices link-code`");
  link->add_option("code", o->code, "The link code")->required();
  link->add_option("--server", o->server, "HOST:PORT of parleyd");
  link->add_option("--pin", o->pin, "The server certificate's SHA-256");
  link->add_option("--device-name", o->device_name, "A name for this device");

  auto enroll = [o, &g, reg](Client& client) {
    auto address = ParseServer(o->server, o->pin);
    if (!address) return Report(g, address.error());
    auto info = reg->parsed()
                    ? client.Register(*address, o->username, o->device_name,
                                      o->invitation.empty() ? std::nullopt : std::optional(o->invitation))
                    : client.Link(*address, o->code, o->device_name);
    if (!info) return Report(g, info.error());
    return Ok(g,
              {{"account", info->account.value().ToString()},
               {"device", info->device.value()},
               {"username", info->username}},
              "registered " + (info->username.empty() ? std::string("device") : info->username) +
                  ": account " + info->account.value().ToString() + ", device " +
                  std::to_string(info->device.value()));
  };
  cli.On(reg, enroll);
  cli.On(link, enroll);

  auto* devices =
      cli.app.add_subcommand("devices", "List this account's devices, make a link code, unlink a device");
  devices->add_subcommand("list", "List devices")->final_callback([] {});
  auto* link_code =
      devices->add_subcommand("link-code", "Make a one-time code for a new device (primary only)");
  auto* unlink = devices->add_subcommand("unlink", "Unlink a device");
  unlink->add_option("id", o->unlink_id, "Device id")->required();
  cli.On(devices, [o, &g, link_code, unlink](Client& client) {
    if (link_code->parsed()) {
      auto made = client.CreateLinkCode();
      if (!made) return Report(g, made.error());
      return Ok(g, {{"code", made->code}, {"expiresAt", made->expires_at_ms}, {"uri", made->uri}},
                "link code: " + made->code + "\n(on the new device: parley link " + made->code +
                    " --server HOST:PORT --pin FINGERPRINT)\n" + made->uri);
    }
    if (unlink->parsed()) {
      if (auto s = client.UnlinkDevice(DeviceId(o->unlink_id)); !s) return Report(g, s.error());
      return Ok(g, {{"unlinked", o->unlink_id}}, "unlinked device " + std::to_string(o->unlink_id));
    }
    auto list = client.ListDevices();
    if (!list) return Report(g, list.error());
    json j = json::array();
    std::string human;
    for (const auto& d : *list) {
      j.push_back({{"id", d.id.value()},
                   {"name", d.name},
                   {"createdAt", d.created_at_ms},
                   {"lastSeenAt", d.last_seen_at_ms},
                   {"thisDevice", d.this_device}});
      human += std::to_string(d.id.value()) + "  " + d.name + (d.this_device ? "  (this device)" : "") + "\n";
    }
    if (!human.empty()) human.pop_back();
    return Ok(g, j, human);
  });

  auto* sync = cli.app.add_subcommand(
      "sync", "Ask this account's other devices again for its contacts and groups (a linked device)");
  sync->add_option("--wait", o->wait_seconds, "Seconds to wait for the first answer (0-60, default 10)")
      ->check(CLI::Range(0, 60));
  cli.On(sync, [o, &g](Client& client) {
    std::mutex mutex;
    std::condition_variable answered_cv;
    std::optional<DeviceId> answered_by;
    client.SetEventHandler([&](const client::Event& e) {
      if (const auto* synced = std::get_if<client::OwnDeviceSynced>(&e)) {
        std::lock_guard lock(mutex);
        if (!answered_by) answered_by = synced->from;
        answered_cv.notify_all();
      }
    });
    auto requested = client.RequestSync();
    std::unique_lock lock(mutex);
    if (requested) {
      answered_cv.wait_for(lock, std::chrono::seconds(o->wait_seconds),
                           [&] { return answered_by.has_value(); });
    }
    const std::optional<DeviceId> from = answered_by;
    lock.unlock();
    client.SetEventHandler([](const client::Event&) {});
    client.Disconnect();
    if (!requested) return Report(g, requested.error());
    if (!from) {
      return Ok(g, {{"requested", true}, {"answeredBy", nullptr}},
                "asked; no device answered yet (an answer that comes later is taken then)");
    }
    return Ok(g, {{"requested", true}, {"answeredBy", from->value()}},
              "contacts and groups taken from device " + std::to_string(from->value()));
  });

  auto* whoami = cli.app.add_subcommand("whoami", "Show this profile's account");
  cli.On(whoami, [&g](Client& client) {
    auto info = client.account();
    if (!info) return Report(g, {ClientErrc::kNotRegistered, "register or link this profile first"});
    return Ok(g,
              {{"account", info->account.value().ToString()},
               {"device", info->device.value()},
               {"username", info->username},
               {"server", info->server.host + ":" + std::to_string(info->server.port)}},
              info->username + " (account " + info->account.value().ToString() + ", device " +
                  std::to_string(info->device.value()) + ") on " + info->server.host + ":" +
                  std::to_string(info->server.port));
  });
}

}  // namespace parley::cli
