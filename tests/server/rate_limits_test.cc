// Each abuse control of the request handlers (S7) triggered over the real
// transport: registrations per address, prekey-bundle fetches per account,
// messages per sender->recipient pair, first contacts per account (stricter
// while the account is young), and the per-address budget of requests before
// authentication, which is what limits link attempts and failed
// authentications (docs/wire-protocol.md section 7). Each refusal is rate_limited with a
// retry-after that the test checks by moving the clock to it. Attachment
// bytes per account: attachments_test.cc.
#include <gtest/gtest.h>

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "handler_fixture.h"
#include "server/address_key.h"

namespace parley::server {
namespace {

using namespace handler_testing;

constexpr std::int64_t kHourMs = 3600 * 1000;

class RateLimitsTest : public RequestHandlersTest {
 protected:
  void Configure(ServerConfig& config) override {
    RateLimitsConfig& limits = config.rate_limits;
    limits.registrations_per_address = {6, 1};
    limits.prekey_fetches_per_account = {2, 60};
    limits.link_codes_per_account = {3, 60};
    limits.messages_per_sender_recipient_pair = {3, 3600};
    limits.first_contacts_per_account = {2, 2};
    limits.first_contacts_per_new_account = {1, 1};
    limits.new_account_age_hours = 24;
  }

  wire::RegisterRequest Registration(const std::string& username) {
    DeviceKeys keys = MakeKeys(20);
    wire::RegisterRequest request;
    request.username = username;
    request.registration_id = RegistrationId(1234);
    request.identity_key = keys.identity.public_key.Serialize();
    request.signed_prekey = keys.signed_prekey;
    request.prekeys = keys.prekeys;
    return request;
  }

  std::uint64_t MetricValue(const std::string& series) {
    testing::HttpsClient client(port());
    EXPECT_FALSE(client.Connect());
    boost::system::error_code ec;
    auto response = client.Request(boost::beast::http::verb::get, "/metrics", ec);
    const std::string& text = response.body();
    const std::size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stoull(text.substr(at + series.size() + 2));
  }
};

void ExpectRateLimited(const wire::Response& response, std::uint64_t min_ms, std::uint64_t max_ms) {
  EXPECT_EQ(response.status, ResponseStatus::kRateLimited) << response.error_detail;
  ASSERT_TRUE(response.retry_after_ms.has_value());
  EXPECT_GE(*response.retry_after_ms, min_ms);
  EXPECT_LE(*response.retry_after_ms, max_ms);
}

TEST_F(RateLimitsTest, RegistrationsPerAddress) {
  for (int i = 0; i < 6; ++i) {
    WireClient client(port());
    EXPECT_EQ(client.Call(Registration("user" + std::to_string(i))).status, ResponseStatus::kOk);
  }
  WireClient refused(port());
  wire::Response response = refused.Call(Registration("user6"));
  // One registration per hour refills.
  ExpectRateLimited(response, kHourMs - 1000, kHourMs + 1);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"registration\"}"), 1u);
  clock_.Advance(static_cast<std::int64_t>(*response.retry_after_ms));
  EXPECT_EQ(refused.Call(Registration("user6")).status, ResponseStatus::kOk);
}

TEST_F(RateLimitsTest, PreKeyBundleFetchesPerAccount) {
  WireClient alice_client(port());
  Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));
  wire::GetBundlesRequest fetch;
  fetch.target = std::string("alice");
  EXPECT_EQ(bob_client.Call(fetch).status, ResponseStatus::kOk);
  EXPECT_EQ(bob_client.Call(fetch).status, ResponseStatus::kOk);
  wire::Response response = bob_client.Call(fetch);
  // 60 per hour: one per minute.
  ExpectRateLimited(response, 59'000, 60'001);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"prekey_fetch\"}"), 1u);
  clock_.Advance(static_cast<std::int64_t>(*response.retry_after_ms));
  EXPECT_EQ(bob_client.Call(fetch).status, ResponseStatus::kOk);
  // Username lookups (which also tell whether a username exists) share the budget.
  response = bob_client.Call(wire::LookupUsernameRequest{"alice"});
  ExpectRateLimited(response, 1, 60'001);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"prekey_fetch\"}"), 2u);
}

TEST_F(RateLimitsTest, IdentityKeyFetchesShareThePreKeyFetchBudget) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));
  wire::GetIdentityKeysRequest fetch;
  fetch.target = alice.account;
  EXPECT_EQ(bob_client.Call(fetch).status, ResponseStatus::kOk);
  EXPECT_EQ(bob_client.Call(fetch).status, ResponseStatus::kOk);
  wire::Response response = bob_client.Call(fetch);
  ExpectRateLimited(response, 59'000, 60'001);
  EXPECT_EQ(response.error_detail, "too many identity key fetches");
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"prekey_fetch\"}"), 1u);
  // One budget: bundle fetches are refused too until it refills.
  wire::GetBundlesRequest bundles;
  bundles.target = alice.account;
  ExpectRateLimited(bob_client.Call(bundles), 59'000, 60'001);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"prekey_fetch\"}"), 2u);
  // Another account has its own budget.
  EXPECT_EQ(alice_client.Call(fetch).status, ResponseStatus::kOk);
  clock_.Advance(static_cast<std::int64_t>(*response.retry_after_ms));
  EXPECT_EQ(bob_client.Call(fetch).status, ResponseStatus::kOk);
}

// A rename to a taken name answers conflict, which tells that the name
// exists: renames spend the same budget as username lookups.
TEST_F(RateLimitsTest, UsernameChangesShareTheLookupBudget) {
  WireClient alice_client(port());
  Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));
  EXPECT_EQ(bob_client.Call(wire::SetUsernameRequest{"alice"}).status, ResponseStatus::kConflict);
  EXPECT_EQ(bob_client.Call(wire::SetUsernameRequest{"robert"}).status, ResponseStatus::kOk);
  wire::Response response = bob_client.Call(wire::SetUsernameRequest{"bobby"});
  ExpectRateLimited(response, 59'000, 60'001);
  EXPECT_EQ(response.error_detail, "too many username changes");
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"prekey_fetch\"}"), 1u);
  wire::LookupUsernameRequest lookup;
  lookup.username = "alice";
  ExpectRateLimited(bob_client.Call(lookup), 59'000, 60'001);
  clock_.Advance(static_cast<std::int64_t>(*response.retry_after_ms));
  EXPECT_EQ(bob_client.Call(wire::SetUsernameRequest{"bobby"}).status, ResponseStatus::kOk);
}

TEST_F(RateLimitsTest, MessagesPerSenderRecipientPair) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  WireClient bob_client(port());
  DeviceLogin bob = Register(bob_client, "bob", MakeKeys(20));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(alice_client.Call(TextTo(bob, "m")).status, ResponseStatus::kOk);
  wire::Response response = alice_client.Call(TextTo(bob, "one too many"));
  // 3600 per hour: one per second.
  ExpectRateLimited(response, 900, 1'001);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"messages\"}"), 1u);
  // The other direction is another pair.
  EXPECT_EQ(bob_client.Call(TextTo(alice, "reply")).status, ResponseStatus::kOk);
  clock_.Advance(static_cast<std::int64_t>(*response.retry_after_ms));
  EXPECT_EQ(alice_client.Call(TextTo(bob, "later")).status, ResponseStatus::kOk);
}

TEST_F(RateLimitsTest, FirstContactsPerAccountStricterWhileYoung) {
  WireClient alice_client(port());
  DeviceLogin alice = Register(alice_client, "alice", MakeKeys(20));
  std::vector<DeviceLogin> others;
  std::vector<std::unique_ptr<WireClient>> clients;
  for (const char* name : {"bob", "carol", "dave", "erin", "frank"}) {
    clients.push_back(std::make_unique<WireClient>(port()));
    others.push_back(Register(*clients.back(), name, MakeKeys(20)));
  }
  const DeviceLogin& bob = others[0];

  // Young: one first contact per hour.
  EXPECT_EQ(alice_client.Call(TextTo(bob, "hi bob")).status, ResponseStatus::kOk);
  EXPECT_EQ(alice_client.Call(TextTo(bob, "again")).status, ResponseStatus::kOk);  // not a new contact
  wire::Response response = alice_client.Call(TextTo(others[1], "hi carol"));
  ExpectRateLimited(response, kHourMs - 1000, kHourMs + 1);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"first_contact\"}"), 1u);
  // Bob answering alice is not a first contact for bob (he spends nothing)...
  EXPECT_EQ(clients[0]->Call(TextTo(alice, "hi alice")).status, ResponseStatus::kOk);
  // ...so his own first contact is still there.
  EXPECT_EQ(clients[0]->Call(TextTo(others[1], "hi carol")).status, ResponseStatus::kOk);

  // A day later alice is no longer young: two at once, then two per hour.
  clock_.Advance(24 * kHourMs);
  EXPECT_EQ(alice_client.Call(TextTo(others[1], "hi carol")).status, ResponseStatus::kOk);
  EXPECT_EQ(alice_client.Call(TextTo(others[2], "hi dave")).status, ResponseStatus::kOk);
  response = alice_client.Call(TextTo(others[3], "hi erin"));
  ExpectRateLimited(response, kHourMs / 2 - 1000, kHourMs / 2 + 1);
  clock_.Advance(static_cast<std::int64_t>(*response.retry_after_ms));
  EXPECT_EQ(alice_client.Call(TextTo(others[3], "hi erin")).status, ResponseStatus::kOk);
  EXPECT_EQ(alice_client.Call(TextTo(others[4], "hi frank")).status, ResponseStatus::kRateLimited);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"first_contact\"}"), 3u);
}

class UnauthenticatedLimitTest : public RateLimitsTest {
 protected:
  void Configure(ServerConfig& config) override {
    RateLimitsTest::Configure(config);
    config.rate_limits.unauthenticated_requests_per_address = {3, 3600};
  }
};

// Link attempts with a wrong code and authentications with a wrong
// credential, from one address over several connections, spend one budget.
TEST_F(UnauthenticatedLimitTest, LinkAttemptsAndFailedAuthenticationsPerAddress) {
  crypto::SystemRng rng;
  const DeviceKeys keys = MakeKeys(5);
  wire::LinkDeviceRequest link;
  link.code = std::string(32, 'A');
  link.registration_id = RegistrationId(77);
  link.identity_key = keys.identity.public_key.Serialize();
  link.signed_prekey = keys.signed_prekey;
  link.device_name = "tablet";
  const wire::AuthenticateRequest wrong_login{AccountId(Uuid::Random(rng)), DeviceId(1), {}};

  WireClient first(port());
  EXPECT_NE(first.Call(link).status, ResponseStatus::kOk);
  EXPECT_EQ(first.Call(wrong_login).status, ResponseStatus::kUnauthorized);
  WireClient second(port());
  EXPECT_NE(second.Call(link).status, ResponseStatus::kOk);
  ExpectRateLimited(second.Call(wrong_login), 900, 1'001);  // 3600 per hour: one per second
  WireClient third(port());
  wire::Response refused = third.Call(link);
  ExpectRateLimited(refused, 900, 1'001);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"unauthenticated\"}"), 2u);
  clock_.Advance(static_cast<std::int64_t>(*refused.retry_after_ms));
  EXPECT_EQ(third.Call(wrong_login).status, ResponseStatus::kUnauthorized);
}

// CreateLinkCode spends the account's link-code budget: past it, rate_limited
// with the time until the next code (60 per hour: one a minute).
TEST_F(RateLimitsTest, LinkCodesPerAccount) {
  WireClient alice_client(port());
  Register(alice_client, "alice", MakeKeys(20));
  for (int i = 0; i < 3; ++i) {
    wire::Response code = alice_client.Call(wire::CreateLinkCodeRequest{});
    EXPECT_EQ(code.status, ResponseStatus::kOk) << code.error_detail;
  }
  wire::Response refused = alice_client.Call(wire::CreateLinkCodeRequest{});
  ExpectRateLimited(refused, 59'000, 60'001);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"link_code\"}"), 1u);
  // Another account has its own budget.
  WireClient bob_client(port());
  Register(bob_client, "bob", MakeKeys(20));
  EXPECT_EQ(bob_client.Call(wire::CreateLinkCodeRequest{}).status, ResponseStatus::kOk);
  clock_.Advance(static_cast<std::int64_t>(*refused.retry_after_ms));
  wire::Response again = alice_client.Call(wire::CreateLinkCodeRequest{});
  EXPECT_EQ(again.status, ResponseStatus::kOk) << again.error_detail;
  EXPECT_EQ(alice_client.Call(wire::CreateLinkCodeRequest{}).status, ResponseStatus::kRateLimited);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"link_code\"}"), 2u);
}

// Per-address limits keyed by the peer's address key (server/address_key.h)
// over the real transport. This host has no IPv6 address besides ::1 (and at
// most one per /64), so the peers are presented through the server's seam
// for the peer address (Server::Create's PeerAddressForTesting): each
// connection is accepted over a real socket from 127.0.0.1 and then counted
// as coming from the address the test names, through the same key function
// and limits as a real peer.
class AddressGroupTest : public RateLimitsTest {
 protected:
  // From the registry itself: a /metrics request would be a connection
  // from a seam-chosen or limited address.
  std::uint64_t MetricValue(const std::string& series) { return RequestHandlersTest::MetricValue(series); }
  void Configure(ServerConfig& config) override {
    RateLimitsTest::Configure(config);
    config.rate_limits.registrations_per_address = {2, 1};
    config.limits.max_connections_per_address = 2;
    peer_address_for_testing_ = [this](const std::string&) {
      std::lock_guard lock(mutex_);
      return next_peer_;
    };
  }
  // The next connection comes from `address`.
  void From(const std::string& address) {
    std::lock_guard lock(mutex_);
    next_peer_ = address;
  }
  wire::Response RegisterFrom(const std::string& address, const std::string& username) {
    From(address);
    WireClient client(port());
    return client.Call(Registration(username));
  }

  std::mutex mutex_;
  std::string next_peer_ = "127.0.0.1";
};

TEST_F(AddressGroupTest, AddressesOfOneIpv6Slash64ShareTheRegistrationBudget) {
  EXPECT_EQ(RegisterFrom("2001:db8:1:2::1", "user0").status, ResponseStatus::kOk);
  EXPECT_EQ(RegisterFrom("2001:db8:1:2:ffff:ffff:ffff:fffe", "user1").status, ResponseStatus::kOk);
  ExpectRateLimited(RegisterFrom("2001:db8:1:2:1234:5678:9abc:def0", "user2"), kHourMs - 1000, kHourMs + 1);
  // The next /64 is another holder.
  EXPECT_EQ(RegisterFrom("2001:db8:1:3::1", "user2").status, ResponseStatus::kOk);
  EXPECT_EQ(MetricValue("parley_rate_limit_hits_total{limit=\"registration\"}"), 1u);
}

TEST_F(AddressGroupTest, Ipv4MappedPeersShareTheirIpv4AddressBudget) {
  EXPECT_EQ(RegisterFrom("198.51.100.7", "user0").status, ResponseStatus::kOk);
  EXPECT_EQ(RegisterFrom("::ffff:198.51.100.7", "user1").status, ResponseStatus::kOk);
  ExpectRateLimited(RegisterFrom("198.51.100.7", "user2"), kHourMs - 1000, kHourMs + 1);
  // Each IPv4 address is its own key, however close.
  EXPECT_EQ(RegisterFrom("198.51.100.8", "user2").status, ResponseStatus::kOk);
}

TEST_F(AddressGroupTest, ConnectionsPerAddressCountTheSlash64) {
  testing::HttpsClient first(port()), second(port()), third(port()), other(port());
  From("2001:db8:5:6::a");
  ASSERT_FALSE(first.Connect());
  From("2001:db8:5:6::b");
  ASSERT_FALSE(second.Connect());
  From("2001:db8:5:6:ffff::c");
  EXPECT_TRUE(third.Connect());  // accepted and closed at once: the handshake fails
  From("2001:db8:5:7::a");
  EXPECT_FALSE(other.Connect());
  EXPECT_EQ(MetricValue("parley_connections_rejected_per_address_total"), 1u);
}

// Real sockets, no seam: a dual-stack listener on :: sees IPv4 peers as
// IPv4-mapped IPv6 addresses and must count them as their IPv4 address;
// ::1 is a key of its own; each IPv4 loopback address is its own key.
class RealAddressTest : public RateLimitsTest {
 protected:
  // From the registry itself: a /metrics request would be a connection
  // from a seam-chosen or limited address.
  std::uint64_t MetricValue(const std::string& series) { return RequestHandlersTest::MetricValue(series); }
  void Configure(ServerConfig& config) override {
    RateLimitsTest::Configure(config);
    config.listen_address = "::";
    config.limits.max_connections_per_address = 1;
  }
};

TEST_F(RealAddressTest, Ipv4MappedLoopbackAndIpv6LoopbackAreKeyedApart) {
  testing::HttpsClient v4(port()), v4_again(port()), v4_other(port()), v6(port()), v6_again(port());
  ASSERT_FALSE(v4.ConnectFrom("127.0.0.1", "127.0.0.1"));
  EXPECT_TRUE(v4_again.ConnectFrom("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(v4_other.ConnectFrom("127.0.0.2", "127.0.0.1"));
  ASSERT_FALSE(v6.ConnectFrom("::1", "::1"));
  EXPECT_TRUE(v6_again.ConnectFrom("::1", "::1"));
  EXPECT_EQ(MetricValue("parley_connections_rejected_per_address_total"), 2u);
}

// Two addresses of this host in one IPv6 /64, if it has them (a host with
// only ::1 and at most one address per /64 has none).
std::optional<std::pair<std::string, std::string>> LocalIpv6PairInOneSlash64() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::vector<std::string> addresses;
  for (ifaddrs* it = list; it != nullptr && addresses.size() < 1024; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET6) continue;
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(it->ifa_addr);
    if (in6->sin6_scope_id != 0) continue;  // link-local: needs a zone to connect
    boost::asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &in6->sin6_addr, bytes.size());
    addresses.push_back(boost::asio::ip::address_v6(bytes).to_string());
  }
  freeifaddrs(list);
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    for (std::size_t j = i + 1; j < addresses.size(); ++j) {
      if (addresses[i] != addresses[j] && addresses[i] != "::1" && addresses[j] != "::1" &&
          AddressKeyOfText(addresses[i], 64) == AddressKeyOfText(addresses[j], 64)) {
        return std::make_pair(addresses[i], addresses[j]);
      }
    }
  }
  return std::nullopt;
}

TEST_F(RealAddressTest, TwoLocalAddressesOfOneSlash64ShareTheConnectionLimit) {
  const auto pair = LocalIpv6PairInOneSlash64();
  // server.rate_limits.ipv6_slash64 (CTest) runs this in a network
  // namespace of its own whose loopback has two such addresses: there they
  // must be found.
  if (std::getenv("PARLEY_TEST_IPV6_PAIR") != nullptr) {
    ASSERT_TRUE(pair) << "PARLEY_TEST_IPV6_PAIR is set but no two IPv6 addresses of one /64 were found";
  }
  if (!pair) {
    GTEST_SKIP() << "this host has no two IPv6 addresses in one /64 (only ::1 and one per /64), so no "
                    "real socket can show it; AddressGroupTest covers the path through the peer-address "
                    "seam and address_key_test.cc the key function";
  }
  testing::HttpsClient first(port()), second(port());
  ASSERT_FALSE(first.ConnectFrom(pair->first, pair->first));
  EXPECT_TRUE(second.ConnectFrom(pair->second, pair->first));
  EXPECT_EQ(MetricValue("parley_connections_rejected_per_address_total"), 1u);
}

}  // namespace
}  // namespace parley::server
