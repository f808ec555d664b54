// `parley daemon` end to end: a real parleyd on 127.0.0.1, two profiles
// registered through the client library, then each served by its own
// `parley daemon` process and driven through the daemon's UNIX socket.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "client/client.h"
#include "daemon_process.h"
#include "parleyd_process.h"

namespace parley::client {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::DaemonProcess;
using testing::RpcConnection;

constexpr int kClientErrorBase = 1000;

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-daemon-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    server_ = std::make_unique<testing::ParleydProcess>(dir_);
    ASSERT_NE(server_->port(), 0) << testing::ReadWholeFile(dir_ / "parleyd.out");
    for (const char* name : {"alice", "bob"}) {
      auto client = OpenProfile(name);
      ASSERT_TRUE(client);
      auto info = client->Register(Address(), name, "phone");
      ASSERT_TRUE(info) << ClientErrcName(info.error().code);
    }
  }

  void TearDown() override {
    daemons_.clear();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path DataDir(const std::string& name) const { return dir_ / "profiles" / name; }
  std::filesystem::path KeyFile(const std::string& name) const { return dir_ / "profiles" / (name + ".key"); }
  std::filesystem::path Socket(const std::string& name) const { return dir_ / (name + ".sock"); }
  ServerAddress Address() const { return {"127.0.0.1", server_->port(), server_->fingerprint()}; }

  // The profile opened in this process (no daemon may serve it meanwhile); nullptr when it does not open.
  std::unique_ptr<Client> OpenProfile(const std::string& name) const {
    ClientOptions options;
    options.data_dir = DataDir(name);
    options.key.key_file = KeyFile(name);
    auto client = Client::Open(options);
    return client ? std::move(*client) : nullptr;
  }

  DaemonProcess& StartDaemon(const std::string& name) {
    auto& d =
        daemons_.emplace_back(std::make_unique<DaemonProcess>(DataDir(name), KeyFile(name), Socket(name)));
    EXPECT_TRUE(d->WaitReady()) << testing::ReadWholeFile(d->log_path());
    return *d;
  }

  // Both daemons and a connection to each; bob's is subscribed.
  std::pair<std::unique_ptr<RpcConnection>, std::unique_ptr<RpcConnection>> StartBothAndSubscribeBob() {
    StartDaemon("alice");
    StartDaemon("bob");
    auto alice = std::make_unique<RpcConnection>(Socket("alice"));
    auto bob = std::make_unique<RpcConnection>(Socket("bob"));
    EXPECT_EQ(bob->Call("subscribe")["result"]["subscribed"], true);
    return {std::move(alice), std::move(bob)};
  }

  // Polls `receive` (bounded) until it holds a message with `body`.
  static json ReceiveUntil(RpcConnection& rpc, const std::string& body) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto answer = rpc.Call("receive", {{"timeout", 1}});
      for (const auto& m : answer["result"]["messages"]) {
        if (m["body"] == body) return answer;
      }
      // Not connected yet: receive answers at once, so wait between tries.
      std::this_thread::sleep_for(250ms);
    }
    return nullptr;
  }

  std::filesystem::path dir_;
  std::unique_ptr<testing::ParleydProcess> server_;
  std::vector<std::unique_ptr<DaemonProcess>> daemons_;
};

TEST_F(DaemonTest, SendThroughRpcArrivesAsReceiveNotificationBothWays) {
  auto [alice_rpc, bob_rpc] = StartBothAndSubscribeBob();
  ASSERT_TRUE(alice_rpc->ok() && bob_rpc->ok());
  RpcConnection &alice = *alice_rpc, &bob = *bob_rpc;
  EXPECT_EQ(alice.Call("subscribe")["result"]["subscribed"], true);
  auto who = alice.Call("whoami");
  EXPECT_EQ(who["result"]["username"], "alice");

  auto sent = alice.Call("send", {{"peer", "bob"}, {"text", "hello over rpc"}});
  ASSERT_TRUE(sent.contains("result")) << sent.dump();
  EXPECT_EQ(sent["result"]["direction"], "outgoing");
  EXPECT_EQ(sent["result"]["body"], "hello over rpc");

  auto pushed = bob.WaitNotification([](const json& n) {
    return n["method"] == "receive" && n["params"]["message"]["body"] == "hello over rpc";
  });
  ASSERT_FALSE(pushed.is_null());
  EXPECT_EQ(pushed["jsonrpc"], "2.0");
  EXPECT_TRUE(pushed["params"]["message"]["request"].get<bool>());  // a stranger's first message

  auto requests = bob.Call("requests");
  ASSERT_EQ(requests["result"].size(), 1u) << requests.dump();
  EXPECT_EQ(requests["result"][0]["username"], "alice");
  EXPECT_EQ(bob.Call("requests.accept", {{"peer", "alice"}})["result"]["done"], true);
  EXPECT_TRUE(bob.Call("send", {{"peer", "alice"}, {"text", "hi alice"}}).contains("result"));
  auto reply = alice.WaitNotification(
      [](const json& n) { return n["method"] == "receive" && n["params"]["message"]["body"] == "hi alice"; });
  ASSERT_FALSE(reply.is_null());
  EXPECT_FALSE(reply["params"]["message"]["request"].get<bool>());

  auto history = bob.Call("history", {{"peer", "alice"}});
  ASSERT_EQ(history["result"].size(), 2u) << history.dump();
  EXPECT_EQ(history["result"][0]["body"], "hello over rpc");
  EXPECT_EQ(history["result"][1]["body"], "hi alice");
  // Bob read alice's message: she sees it marked read.
  auto read = alice.WaitNotification([](const json& n) {
    return n["method"] == "update" && n["params"]["message"]["body"] == "hello over rpc" &&
           n["params"]["message"]["status"] == "read";
  });
  EXPECT_FALSE(read.is_null());
}

// A file of `size` bytes of a repeating pattern.
std::string WriteFile(const std::filesystem::path& path, std::size_t size) {
  std::string content(size, '\0');
  for (std::size_t i = 0; i < size; ++i) content[i] = static_cast<char>('a' + (i * 7) % 26);
  std::ofstream(path, std::ios::binary) << content;
  return content;
}

TEST_F(DaemonTest, GroupsThroughRpc) {
  auto [alice_rpc, bob_rpc] = StartBothAndSubscribeBob();
  ASSERT_TRUE(alice_rpc->ok() && bob_rpc->ok());
  RpcConnection &alice = *alice_rpc, &bob = *bob_rpc;
  EXPECT_EQ(alice.Call("groups.create", {{"name", "team"}, {"members", "bob"}})["error"]["code"], -32602);
  EXPECT_EQ(alice.Call("groups.create", {{"name", "team"}, {"members", {"bob", 3}}})["error"]["code"],
            -32602);
  auto created = alice.Call("groups.create", {{"name", "team"}, {"members", {"bob"}}});
  ASSERT_TRUE(created.contains("result")) << created.dump();
  const std::string group = created["result"]["id"];
  EXPECT_EQ(group.rfind("group:", 0), 0u);
  EXPECT_EQ(created["result"]["members"].size(), 2u);
  auto changed = bob.WaitNotification(
      [&](const json& n) { return n["method"] == "groupChanged" && n["params"]["group"]["id"] == group; });
  ASSERT_FALSE(changed.is_null());
  EXPECT_EQ(changed["params"]["group"]["name"], "team");
  auto sent = alice.Call("groups.send", {{"group", "team"}, {"text", "hello team"}});
  ASSERT_TRUE(sent.contains("result")) << sent.dump();
  auto pushed = bob.WaitNotification([&](const json& n) {
    return n["method"] == "receive" && n["params"]["message"]["body"] == "hello team" &&
           n["params"]["message"]["conversation"] == group;
  });
  EXPECT_FALSE(pushed.is_null());
  auto group_history = bob.Call("history", {{"peer", group}});
  ASSERT_EQ(group_history["result"].size(), 1u) << group_history.dump();
  EXPECT_EQ(group_history["result"][0]["body"], "hello team");
  auto groups = bob.Call("groups");
  ASSERT_EQ(groups["result"].size(), 1u) << groups.dump();
  EXPECT_EQ(groups["result"][0]["id"], group);
  auto unknown = alice.Call("groups.send", {{"group", "nosuchgroup"}, {"text", "x"}});
  EXPECT_EQ(unknown["error"]["data"]["name"], "not_found");

  // A file to the group, named as groups.send names it; bob's notification
  // carries it with the group's name, and bob fetches it by the group's name.
  const std::string content = WriteFile(dir_ / "plan.txt", 20'000);
  auto attached = alice.Call("attach", {{"peer", "team"}, {"file", (dir_ / "plan.txt").string()}});
  ASSERT_TRUE(attached.contains("result")) << attached.dump();
  EXPECT_EQ(attached["result"]["conversation"], group);
  auto with_file = bob.WaitNotification([&](const json& n) {
    return n["method"] == "receive" && n["params"]["message"]["conversation"] == group &&
           n["params"]["message"].contains("attachment");
  });
  ASSERT_FALSE(with_file.is_null());
  EXPECT_EQ(with_file["params"]["message"]["groupName"], "team");
  EXPECT_EQ(with_file["params"]["message"]["attachment"]["fileName"], "plan.txt");
  const std::string file_id = with_file["params"]["message"]["id"];
  const std::string short_id = file_id.substr(file_id.size() - 8);  // as `parley` prints it
  // S2: the group is a request until bob writes to it.
  EXPECT_EQ(bob.Call("attach.get", {{"peer", "team"}, {"message", short_id}})["error"]["data"]["name"],
            "forbidden");
  ASSERT_TRUE(bob.Call("groups.send", {{"group", "team"}, {"text", "thanks"}}).contains("result"));
  auto fetched = bob.Call("attach.get", {{"peer", "team"}, {"message", short_id}});
  ASSERT_TRUE(fetched.contains("result")) << fetched.dump();
  EXPECT_EQ(testing::ReadWholeFile(fetched["result"]["path"].get<std::string>()), content);
  EXPECT_EQ(alice.Call("attach", {{"peer", "nosuchgroup"},
                                  {"file", (dir_ / "plan.txt").string()}})["error"]["data"]["name"],
            "not_found");

  // A non-admin cannot rename; the admin can, and bob sees it.
  EXPECT_EQ(bob.Call("groups.rename", {{"group", group}, {"name", "mine"}})["error"]["data"]["name"],
            "forbidden");
  ASSERT_TRUE(alice.Call("groups.rename", {{"group", group}, {"name", "the team"}}).contains("result"));
  EXPECT_FALSE(bob.WaitNotification([&](const json& n) {
                    return n["method"] == "groupChanged" && n["params"]["group"]["name"] == "the team";
                  })
                   .is_null());
  // Alice makes bob an admin; then bob may rename it too.
  auto admin = alice.Call("groups.admin", {{"group", group}, {"members", {"bob"}}});
  ASSERT_TRUE(admin.contains("result")) << admin.dump();
  EXPECT_EQ(admin["result"]["admins"].size(), 2u);
  EXPECT_FALSE(bob.WaitNotification([&](const json& n) {
                    return n["method"] == "groupChanged" && n["params"]["group"]["admins"].size() == 2;
                  })
                   .is_null());
  auto renamed = bob.Call("groups.rename", {{"group", group}, {"name", "our team"}});
  ASSERT_TRUE(renamed.contains("result")) << renamed.dump();
  EXPECT_EQ(renamed["result"]["name"], "our team");
  // Bob takes alice's admin rights back ("remove": true); she can no longer rename.
  // (Alice is no contact of bob's: he names her by account id.)
  const std::string alice_id = alice.Call("whoami")["result"]["account"];
  auto unadmin = bob.Call("groups.admin", {{"group", group}, {"members", {alice_id}}, {"remove", true}});
  ASSERT_TRUE(unadmin.contains("result")) << unadmin.dump();
  EXPECT_EQ(unadmin["result"]["admins"].size(), 1u);
  EXPECT_EQ(
      bob.Call("groups.admin", {{"group", group}, {"members", {"bob"}}, {"remove", "yes"}})["error"]["code"],
      -32602);
  bool revoked = false;
  for (int i = 0; i < 400 && !revoked; ++i) {
    auto listed = alice.Call("groups");
    revoked = listed["result"].size() == 1u && listed["result"][0]["admins"].size() == 1u;
    if (!revoked) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(revoked);
  EXPECT_EQ(alice.Call("groups.rename", {{"group", group}, {"name", "hers"}})["error"]["data"]["name"],
            "forbidden");
  EXPECT_EQ(bob.Call("groups.admin",
                     {{"group", group}, {"members", {"bob"}}, {"remove", true}})["error"]["data"]["name"],
            "invalid_argument");
  // Bob leaves: alice's daemon tells its subscribers.
  EXPECT_EQ(alice.Call("subscribe")["result"]["subscribed"], true);
  EXPECT_EQ(bob.Call("groups.leave", {{"group", group}})["result"]["done"], true);
  auto left = alice.WaitNotification([&](const json& n) {
    return n["method"] == "groupChanged" && n["params"]["group"]["id"] == group &&
           n["params"]["group"]["members"].size() == 1;
  });
  EXPECT_FALSE(left.is_null());
  auto after = bob.Call("groups");
  ASSERT_EQ(after["result"].size(), 1u);
  EXPECT_EQ(after["result"][0]["active"], false);
}

// Our group messages carry their receipts in every result and notification:
// from the send on ("delivered to 0 of 1"), in `update` as they come, and in `history`.
TEST_F(DaemonTest, GroupReceiptsInResultsAndNotifications) {
  auto [alice_rpc, bob_rpc] = StartBothAndSubscribeBob();
  ASSERT_TRUE(alice_rpc->ok() && bob_rpc->ok());
  RpcConnection &alice = *alice_rpc, &bob = *bob_rpc;
  EXPECT_EQ(alice.Call("subscribe")["result"]["subscribed"], true);
  // Bob knows alice, so her group is no request and he sends receipts.
  ASSERT_TRUE(bob.Call("contacts.add", {{"username", "alice"}}).contains("result"));
  auto created = alice.Call("groups.create", {{"name", "team"}, {"members", {"bob"}}});
  ASSERT_TRUE(created.contains("result")) << created.dump();
  const std::string group = created["result"]["id"];
  ASSERT_FALSE(bob.WaitNotification([&](const json& n) {
                    return n["method"] == "groupChanged" && n["params"]["group"]["id"] == group;
                  })
                   .is_null());

  auto sent = alice.Call("groups.send", {{"group", group}, {"text", "count me"}});
  ASSERT_TRUE(sent.contains("result")) << sent.dump();
  const std::string id = sent["result"]["id"];
  auto before = alice.Call("history", {{"peer", group}});
  ASSERT_EQ(before["result"].size(), 1u) << before.dump();
  const json& fresh = before["result"][0]["receipts"];
  EXPECT_EQ(fresh["members"], 1);
  EXPECT_EQ(fresh["read"], 0);
  ASSERT_EQ(fresh["from"].size(), 1u) << before.dump();
  // Bob's daemon, subscribed and online, may already have sent his delivery
  // receipt by the time alice asks.
  if (fresh["delivered"] == 0) {
    EXPECT_EQ(fresh["from"][0]["status"], "sent") << before.dump();
  } else {
    EXPECT_EQ(fresh["delivered"], 1) << before.dump();
    EXPECT_EQ(fresh["from"][0]["status"], "delivered") << before.dump();
  }

  auto delivered = alice.WaitNotification([&](const json& n) {
    return n["method"] == "update" && n["params"]["message"]["id"] == id &&
           n["params"]["message"]["receipts"]["delivered"] == 1;
  });
  ASSERT_FALSE(delivered.is_null());
  EXPECT_EQ(delivered["params"]["message"]["receipts"]["read"], 0);
  EXPECT_EQ(delivered["params"]["message"]["status"], "delivered");
  // Bob shows the group (history marks it read): alice learns he read it.
  ASSERT_TRUE(bob.Call("history", {{"peer", group}}).contains("result"));
  auto read = alice.WaitNotification([&](const json& n) {
    return n["method"] == "update" && n["params"]["message"]["id"] == id &&
           n["params"]["message"]["receipts"]["read"] == 1;
  });
  ASSERT_FALSE(read.is_null());
  EXPECT_EQ(read["params"]["message"]["receipts"]["from"][0]["status"], "read");
  auto after = alice.Call("history", {{"peer", group}, {"markRead", false}});
  EXPECT_EQ(after["result"][0]["receipts"]["read"], 1) << after.dump();
  EXPECT_EQ(after["result"][0]["status"], "read");
  // Bob's copy is no message of alice's own: no receipts there.
  auto bob_history = bob.Call("history", {{"peer", group}});
  ASSERT_EQ(bob_history["result"].size(), 1u);
  EXPECT_FALSE(bob_history["result"][0].contains("receipts"));

  // `sync` asks a linked device's other devices; on the primary it is refused.
  auto sync = alice.Call("sync");
  EXPECT_EQ(sync["error"]["data"]["name"], "forbidden") << sync.dump();
}

// A linked device served by its own daemon: the primary's answer arrives as
// a `synced` notification, and `sync` asks again and is answered again.
TEST_F(DaemonTest, ALinkedDeviceSyncsThroughRpc) {
  {
    auto alice = OpenProfile("alice");
    ASSERT_TRUE(alice);
    ASSERT_TRUE(alice->Connect());
    ASSERT_TRUE(alice->AddContact("bob"));
    auto code = alice->CreateLinkCode();
    ASSERT_TRUE(code);
    alice->Disconnect();
    auto laptop = OpenProfile("laptop");
    ASSERT_TRUE(laptop);
    ASSERT_TRUE(laptop->Link(Address(), code->code, "laptop"));
  }
  // The phone is offline: the laptop's daemon waits for an answer.
  StartDaemon("laptop");
  RpcConnection laptop(Socket("laptop"));
  ASSERT_TRUE(laptop.ok());
  EXPECT_EQ(laptop.Call("subscribe")["result"]["subscribed"], true);
  StartDaemon("alice");
  const auto synced_from_phone = [](const json& n) {
    return n["method"] == "synced" && n["params"]["fromDevice"] == 1;
  };
  ASSERT_FALSE(laptop.WaitNotification(synced_from_phone).is_null());
  bool has_bob = false;
  for (int i = 0; i < 100 && !has_bob; ++i) {
    const json contacts = laptop.Call("contacts");
    for (const auto& c : contacts["result"]) has_bob = has_bob || c["username"] == "bob";
    if (!has_bob) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(has_bob) << laptop.Call("contacts").dump();

  // Asked again (a fresh subscription sees only what follows), the phone answers again.
  RpcConnection again(Socket("laptop"));
  EXPECT_EQ(again.Call("subscribe")["result"]["subscribed"], true);
  auto requested = again.Call("sync");
  EXPECT_EQ(requested["result"]["requested"], true) << requested.dump();
  EXPECT_FALSE(again.WaitNotification(synced_from_phone).is_null());
}

TEST_F(DaemonTest, AttachThroughRpcAndNeverForARequestBeforeItIsAccepted) {
  auto [alice_rpc, bob_rpc] = StartBothAndSubscribeBob();
  ASSERT_TRUE(alice_rpc->ok() && bob_rpc->ok());
  RpcConnection &alice = *alice_rpc, &bob = *bob_rpc;
  const std::string content = WriteFile(dir_ / "notes.txt", 70'000);

  EXPECT_EQ(alice.Call("attach", {{"peer", "bob"}, {"file", "notes.txt"}})["error"]["code"], -32602);
  EXPECT_EQ(alice.Call("attach", {{"peer", "bob"}})["error"]["code"], -32602);
  auto missing = alice.Call("attach", {{"peer", "bob"}, {"file", (dir_ / "nothing").string()}});
  EXPECT_EQ(missing["error"]["data"]["name"], "invalid_argument");
  auto sent = alice.Call("attach", {{"peer", "bob"},
                                    {"file", (dir_ / "notes.txt").string()},
                                    {"caption", "the notes"},
                                    {"contentType", "text/plain"}});
  ASSERT_TRUE(sent.contains("result")) << sent.dump();
  EXPECT_EQ(sent["result"]["attachment"]["fileName"], "notes.txt");
  EXPECT_EQ(sent["result"]["attachment"]["size"], 70'000);

  auto pushed = bob.WaitNotification([](const json& n) {
    return n["method"] == "receive" && n["params"]["message"].contains("attachment");
  });
  ASSERT_FALSE(pushed.is_null());
  const json& message = pushed["params"]["message"];
  EXPECT_TRUE(message["request"].get<bool>());
  EXPECT_EQ(message["attachment"]["fileName"], "notes.txt");
  EXPECT_EQ(message["attachment"]["contentType"], "text/plain");
  EXPECT_EQ(message["attachment"]["size"], 70'000);
  EXPECT_EQ(message["attachment"]["path"], "");  // never fetched by itself
  const std::string id = message["id"];

  // S2: not fetched for a message request.
  auto refused = bob.Call("attach.get", {{"message", id}});
  EXPECT_EQ(refused["error"]["code"], kClientErrorBase + static_cast<int>(ClientErrc::kForbidden));
  EXPECT_EQ(bob.Call("attach.get", {{"message", id.substr(id.size() - 8)}})["error"]["code"],
            -32602);  // short: peer
  EXPECT_EQ(bob.Call("requests.accept", {{"peer", "alice"}})["result"]["done"], true);
  auto got = bob.Call("attach.get", {{"peer", "alice"}, {"message", id.substr(id.size() - 8)}});
  ASSERT_TRUE(got.contains("result")) << got.dump();
  EXPECT_EQ(got["result"]["fileName"], "notes.txt");
  const std::string path = got["result"]["path"];
  EXPECT_EQ(testing::ReadWholeFile(path), content);
  // The history says where it is now.
  auto history = bob.Call("history", {{"peer", "alice"}});
  ASSERT_EQ(history["result"].size(), 1u) << history.dump();
  EXPECT_EQ(history["result"][0]["attachment"]["path"], path);
}

TEST_F(DaemonTest, LargeUploadDoesNotHoldUpAnotherConnection) {
  StartDaemon("alice");
  RpcConnection uploader(Socket("alice")), other(Socket("alice"));
  ASSERT_TRUE(uploader.ok() && other.ok());
  ASSERT_TRUE(other.Call("contacts.add", {{"username", "bob"}}).contains("result"));
  WriteFile(dir_ / "big.bin", 48u << 20);
  uploader.SendRaw(json{{"jsonrpc", "2.0"},
                        {"id", "upload"},
                        {"method", "attach"},
                        {"params", {{"peer", "bob"}, {"file", (dir_ / "big.bin").string()}}}}
                       .dump() +
                   "\n");
  // Answered while the upload is still going (before, one request at a time held everyone up).
  std::this_thread::sleep_for(100ms);
  auto who = other.Call("whoami");
  EXPECT_EQ(who["result"]["username"], "alice");
  EXPECT_TRUE(other.Call("conversations").contains("result"));
  EXPECT_FALSE(uploader.HasLine()) << "the upload finished before the other connection was answered";
  auto uploaded = uploader.ReadResponse();
  ASSERT_TRUE(uploaded.contains("result")) << uploaded.dump();
  EXPECT_EQ(uploaded["id"], "upload");
  EXPECT_EQ(uploaded["result"]["attachment"]["size"], 48u << 20);
}

TEST_F(DaemonTest, MessageWithoutSubscriberStaysUntilFetched) {
  StartDaemon("bob");
  RpcConnection bob(Socket("bob"));
  {
    auto alice = OpenProfile("alice");
    ASSERT_TRUE(alice);
    ASSERT_TRUE(alice->Connect());
    ASSERT_TRUE(alice->SendText("bob", "nobody listened"));
  }
  auto received = ReceiveUntil(bob, "nobody listened");
  ASSERT_FALSE(received.is_null());
  EXPECT_EQ(received["result"]["connected"], true);
  // Still there until read.
  ASSERT_FALSE(ReceiveUntil(bob, "nobody listened").is_null());
  bob.Call("receive", {{"markRead", true}});
  EXPECT_TRUE(bob.Call("receive")["result"]["messages"].empty());
}

TEST_F(DaemonTest, ErrorsAreJsonRpcErrorObjects) {
  StartDaemon("alice");
  RpcConnection rpc(Socket("alice"));
  rpc.SendRaw("{not json\n");
  auto parse = rpc.ReadResponse();
  EXPECT_EQ(parse["error"]["code"], -32700);
  EXPECT_TRUE(parse["id"].is_null());

  auto unknown = rpc.Call("launchRockets");
  EXPECT_EQ(unknown["error"]["code"], -32601);
  EXPECT_EQ(unknown["id"], 1);

  EXPECT_EQ(rpc.Call("send", {{"text", "no peer"}})["error"]["code"], -32602);
  auto wrong_type = rpc.Call("send", {{"peer", "bob"}, {"text", 5}});
  EXPECT_EQ(wrong_type["error"]["code"], -32602);
  EXPECT_EQ(wrong_type["error"]["message"], "parameter text must be a string");
  auto extra = rpc.Call("whoami", {{"verbose", true}});
  EXPECT_EQ(extra["error"]["code"], -32602);
  EXPECT_EQ(rpc.Call("history", {{"peer", "bob"}, {"limit", 0}})["error"]["code"], -32602);
  rpc.SendRaw(R"({"jsonrpc":"2.0","id":"p","method":"send","params":["bob","hi"]})"
              "\n");
  EXPECT_EQ(rpc.ReadResponse()["error"]["code"], -32602);

  auto nobody = rpc.Call("send", {{"peer", "nosuchuser"}, {"text", "hi"}});
  EXPECT_EQ(nobody["error"]["code"], kClientErrorBase + static_cast<int>(ClientErrc::kNotFound));
  EXPECT_EQ(nobody["error"]["data"]["name"], "not_found");

  std::thread writer([&] { rpc.SendRaw(std::string(2 * 1024 * 1024, 'x') + "\n"); });
  auto oversized = rpc.ReadResponse();
  writer.join();
  EXPECT_EQ(oversized["error"]["code"], -32600);
  EXPECT_EQ(oversized["error"]["message"], "request line too long");
  // The connection goes on.
  EXPECT_EQ(rpc.Call("whoami")["result"]["username"], "alice");
}

TEST_F(DaemonTest, SocketIsOwnerOnlyAndSigtermStopsCleanly) {
  auto& daemon = StartDaemon("alice");
  struct stat st {};
  ASSERT_EQ(stat(Socket("alice").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  RpcConnection idle(Socket("alice"));
  ASSERT_TRUE(idle.ok());
  // A second daemon on the same socket refuses to start (exit code 10).
  DaemonProcess second(dir_ / "profiles" / "second", dir_ / "profiles" / "second.key", Socket("alice"));
  EXPECT_EQ(second.WaitExit(), 10) << testing::ReadWholeFile(second.log_path());
  EXPECT_EQ(daemon.Stop(), 0) << testing::ReadWholeFile(daemon.log_path());
  EXPECT_FALSE(std::filesystem::exists(Socket("alice")));
}

}  // namespace
}  // namespace parley::client
