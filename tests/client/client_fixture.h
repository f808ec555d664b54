// Shared by the client end-to-end tests: an event log to wait on and a
// fixture with a real parleyd and registered profiles.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "parleyd_process.h"

namespace parley::client::testing {

using namespace std::chrono_literals;

// Collects a client's events so a test can wait for one.
class EventLog {
 public:
  void Attach(Client& client) {
    client.SetEventHandler([this](const Event& e) {
      std::lock_guard lock(mutex_);
      events_.push_back(e);
      cv_.notify_all();
    });
  }

  // Waits (at most 20 s) until `pred` holds for some event; returns it.
  template <class T, class Pred>
  std::optional<T> WaitFor(Pred pred) {
    std::unique_lock lock(mutex_);
    std::optional<T> found;
    cv_.wait_for(lock, 20s, [&] {
      for (const Event& e : events_) {
        if (const T* t = std::get_if<T>(&e); t != nullptr && pred(*t)) {
          found = *t;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  template <class T>
  std::size_t Count() {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(
        events_.begin(), events_.end(), [](const Event& e) { return std::holds_alternative<T>(e); }));
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

// Polls (at most 20 s) until `pred` holds.
template <class Pred>
bool WaitUntil(Pred pred) {
  for (int i = 0; i < 400; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// A real parleyd on 127.0.0.1 (port 0) in a temporary directory, and
// profiles opened and registered against it with the certificate pinned.
class ClientFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-client-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    server_ = std::make_unique<testing::ParleydProcess>(dir_);
    ASSERT_NE(server_->port(), 0) << testing::ReadWholeFile(dir_ / "parleyd.out");
    ASSERT_EQ(server_->fingerprint().size(), 64u);
  }

  void TearDown() override {
    profiles_.clear();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  ServerAddress Address() const { return {"127.0.0.1", server_->port(), server_->fingerprint()}; }

  std::unique_ptr<Client> OpenProfile(const std::string& name) {
    ClientOptions options;
    options.data_dir = dir_ / "profiles" / name;
    options.key.kind = StoreKeySource::Kind::kKeyFile;
    options.key.key_file = dir_ / "profiles" / (name + ".key");
    std::filesystem::create_directories(dir_ / "profiles");
    auto client = Client::Open(options);
    EXPECT_TRUE(client) << (client ? "" : ClientErrcName(client.error().code));
    return client ? std::move(*client) : nullptr;
  }

  // A registered, connected profile with an event log.
  // The log outlives the client, whose threads call into it.
  struct Profile {
    std::unique_ptr<EventLog> log = std::make_unique<EventLog>();
    std::unique_ptr<Client> client;
  };

  Profile Register(const std::string& username) {
    Profile p;
    p.client = OpenProfile(username);
    p.log->Attach(*p.client);
    auto info = p.client->Register(Address(), username, username + "-phone");
    EXPECT_TRUE(info) << ClientErrcName(info.error().code);
    return p;
  }

  // A new device of `primary`'s account, linked with a fresh code.
  Profile LinkDevice(Profile& primary, const std::string& name) {
    auto code = primary.client->CreateLinkCode();
    EXPECT_TRUE(code);
    Profile p;
    p.client = OpenProfile(name);
    p.log->Attach(*p.client);
    if (code) {
      EXPECT_TRUE(p.client->Link(Address(), code->code, name));
    }
    return p;
  }

  static std::vector<std::string> Bodies(Client& client, const ConversationId& conversation) {
    std::vector<std::string> out;
    auto history = client.History(conversation, 100);
    EXPECT_TRUE(history);
    if (history) {
      for (const auto& m : *history) out.push_back(m.body);
    }
    return out;
  }

  static ConversationId Conv(Client& peer) { return peer.account()->account.value().ToString(); }

  std::filesystem::path dir_;
  std::unique_ptr<testing::ParleydProcess> server_;
  std::vector<std::unique_ptr<Client>> profiles_;
};

}  // namespace parley::client::testing
