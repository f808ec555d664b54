// Each abuse control of the request handlers (S7) triggered over the real
// transport: registrations per address, prekey-bundle fetches per account,
// messages per sender->recipient pair, first contacts per account (stricter
// while the account is young), and the per-address budget of requests before
// authentication, which is what limits link attempts and failed
// authentications (docs/wire-protocol.md section 7). Each refusal is rate_limited with a
// retry-after that the test checks by moving the clock to it. Attachment
// bytes per account: attachments_test.cc.
#include <gtest/gtest.h>

#include <string>

#include "handler_fixture.h"

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

}  // namespace
}  // namespace parley::server
