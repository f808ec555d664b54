// The interop request parser's error cases, and the engine's answers to
// requests that parse but cannot be served.
#include "interop_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "base/clock.h"
#include "base/rng.h"
#include "interop_engine.h"

namespace parley::interop {
namespace {

std::string ErrorCode(std::string_view line) {
  auto parsed = ParseInteropRequest(line);
  if (auto* e = std::get_if<RequestError>(&parsed)) return e->code;
  return "ok";
}

TEST(InteropRequest, ParsesEveryOp) {
  const char* lines[] = {
      R"({"op":"new_party","party":"a","registration_id":1,"device":1})",
      R"({"op":"make_bundle","party":"a","signed_prekey_id":1,"prekey_id":null})",
      R"({"op":"make_bundle","party":"a","signed_prekey_id":1,"prekey_id":16777215})",
      R"({"op":"start_session","party":"a","peer":{"name":"b","device":2},"bundle":{"registration_id":3,"device":2,"identity_key":"BQ==","signed_prekey_id":1,"signed_prekey":"BQ==","signed_prekey_signature":"AA==","prekey_id":null,"prekey":null}})",
      R"({"op":"encrypt","party":"a","peer":{"name":"b","device":2},"plaintext":""})",
      R"({"op":"decrypt","party":"a","peer":{"name":"b","device":2},"type":"message","ciphertext":"AAAA"})",
      R"({"op":"has_session","party":"a","peer":{"name":"b","device":2147483647}})",
      R"({"op":"trust","party":"a","peer":{"name":"b","device":2},"identity_key":"BQ=="})",
      R"({"op":"fingerprint","party":"a","local_id":"x","peer_id":"y","peer_identity_key":"BQ==","iterations":5200})",
      R"({"op":"group_create","party":"a","group":"g"})",
      R"({"op":"group_accept","party":"a","group":"g","sender":{"name":"b","device":2},"distribution":"Mw=="})",
      R"({"op":"group_encrypt","party":"a","group":"g","plaintext":"aGk="})",
      R"({"op":"group_decrypt","party":"a","group":"g","sender":{"name":"b","device":2},"ciphertext":"Mw=="})",
  };
  for (const char* line : lines) EXPECT_EQ(ErrorCode(line), "ok") << line;
}

TEST(InteropRequest, RejectsMalformedLines) {
  EXPECT_EQ(ErrorCode(""), "bad_request");
  EXPECT_EQ(ErrorCode("{"), "bad_request");
  EXPECT_EQ(ErrorCode("[1,2]"), "bad_request");
  EXPECT_EQ(ErrorCode(R"({"party":"a"})"), "bad_request");
  EXPECT_EQ(ErrorCode(R"({"op":7})"), "bad_request");
  EXPECT_EQ(ErrorCode(R"({"op":"sing"})"), "unsupported");
  EXPECT_EQ(ErrorCode(std::string(kMaxRequestLine + 1, ' ')), "bad_request");
}

TEST(InteropRequest, RejectsMissingAndMistypedFields) {
  EXPECT_EQ(ErrorCode(R"({"op":"new_party","registration_id":1,"device":1})"), "bad_request");
  EXPECT_EQ(ErrorCode(R"({"op":"new_party","party":5,"registration_id":1,"device":1})"), "bad_request");
  EXPECT_EQ(ErrorCode(R"({"op":"new_party","party":"a","registration_id":"1","device":1})"), "bad_request");
  EXPECT_EQ(ErrorCode(R"({"op":"new_party","party":"a","registration_id":1.5,"device":1})"), "bad_request");
  EXPECT_EQ(ErrorCode(R"({"op":"encrypt","party":"a","peer":"b","plaintext":""})"), "bad_request");
  EXPECT_EQ(ErrorCode(R"({"op":"encrypt","party":"a","peer":{"name":"b"},"plaintext":""})"), "bad_request");
  EXPECT_EQ(
      ErrorCode(
          R"({"op":"decrypt","party":"a","peer":{"name":"b","device":2},"type":"whisper","ciphertext":""})"),
      "bad_request");
  EXPECT_EQ(ErrorCode(R"({"op":"start_session","party":"a","peer":{"name":"b","device":2},"bundle":[]})"),
            "bad_request");
  // prekey_id without prekey.
  EXPECT_EQ(
      ErrorCode(
          R"({"op":"start_session","party":"a","peer":{"name":"b","device":2},"bundle":{"registration_id":3,"device":2,"identity_key":"BQ==","signed_prekey_id":1,"signed_prekey":"BQ==","signed_prekey_signature":"AA==","prekey_id":4,"prekey":null}})"),
      "bad_request");
}

TEST(InteropRequest, RejectsOutOfRangeIntegers) {
  for (const char* reg : {"0", "16381", "-1", "18446744073709551615"}) {
    EXPECT_EQ(
        ErrorCode(std::string(R"({"op":"new_party","party":"a","device":1,"registration_id":)") + reg + "}"),
        "bad_request")
        << reg;
  }
  for (const char* device : {"0", "2147483648", "-5"}) {
    EXPECT_EQ(ErrorCode(std::string(R"({"op":"new_party","party":"a","registration_id":1,"device":)") +
                        device + "}"),
              "bad_request")
        << device;
  }
  EXPECT_EQ(ErrorCode(R"({"op":"make_bundle","party":"a","signed_prekey_id":1,"prekey_id":0})"),
            "bad_request");
  EXPECT_EQ(ErrorCode(R"({"op":"make_bundle","party":"a","signed_prekey_id":1,"prekey_id":16777216})"),
            "bad_request");
  EXPECT_EQ(
      ErrorCode(
          R"({"op":"fingerprint","party":"a","local_id":"x","peer_id":"y","peer_identity_key":"BQ==","iterations":0})"),
      "bad_request");
}

TEST(InteropRequest, RejectsNonCanonicalBase64) {
  for (const char* b64 : {"a", "a===", "Zh==", "Zm9v\n", "Zm-_", "Zm 9v"}) {
    EXPECT_EQ(ErrorCode(std::string(R"({"op":"group_encrypt","party":"a","group":"g","plaintext":")") + b64 +
                        "\"}"),
              "bad_request")
        << b64;
  }
  EXPECT_EQ(ErrorCode(R"({"op":"group_encrypt","party":"a","group":"g","plaintext":5})"), "bad_request");
}

class InteropEngineTest : public ::testing::Test {
 protected:
  nlohmann::json Call(const std::string& line) { return nlohmann::json::parse(engine_.Handle(line)); }

  DeterministicRng rng_{5};
  ManualClock clock_{1'700'000'000'000};
  InteropEngine engine_{rng_, clock_};
};

TEST_F(InteropEngineTest, UnknownAndDuplicateParties) {
  EXPECT_EQ(Call(R"({"op":"group_create","party":"ghost","group":"g"})")["error"], "bad_request");
  EXPECT_EQ(Call(R"({"op":"new_party","party":"a","registration_id":1,"device":1})")["ok"], true);
  EXPECT_EQ(Call(R"({"op":"new_party","party":"a","registration_id":2,"device":1})")["error"], "bad_request");
}

TEST_F(InteropEngineTest, RequestsThatParseButCannotBeServed) {
  ASSERT_EQ(Call(R"({"op":"new_party","party":"a","registration_id":1,"device":1})")["ok"], true);
  EXPECT_EQ(Call(R"({"op":"has_session","party":"a","peer":{"name":"b","device":1}})")["value"], false);
  EXPECT_EQ(Call(R"({"op":"encrypt","party":"a","peer":{"name":"b","device":1},"plaintext":""})")["error"],
            "no_session");
  EXPECT_EQ(
      Call(
          R"({"op":"decrypt","party":"a","peer":{"name":"b","device":1},"type":"message","ciphertext":"AAAA"})")
          ["error"],
      "invalid_message");
  EXPECT_EQ(
      Call(R"({"op":"trust","party":"a","peer":{"name":"b","device":1},"identity_key":"BQ=="})")["error"],
      "invalid_key");
  EXPECT_EQ(Call(R"({"op":"group_encrypt","party":"a","group":"g","plaintext":""})")["error"], "no_session");
  EXPECT_EQ(
      Call(
          R"({"op":"group_accept","party":"a","group":"g","sender":{"name":"b","device":1},"distribution":"Mw=="})")
          ["error"],
      "invalid_message");
  EXPECT_EQ(
      Call(
          R"({"op":"fingerprint","party":"a","local_id":"x","peer_id":"y","peer_identity_key":"BQ==","iterations":1})")
          ["error"],
      "invalid_key");
  auto bad_bundle = Call(
      R"({"op":"start_session","party":"a","peer":{"name":"b","device":2},"bundle":{"registration_id":3,"device":2,"identity_key":"BQ==","signed_prekey_id":1,"signed_prekey":"BQ==","signed_prekey_signature":"AA==","prekey_id":null,"prekey":null}})");
  EXPECT_EQ(bad_bundle["error"], "invalid_key");
  EXPECT_EQ(Call(R"({"op":"has_session","party":"a","peer":{"name":"b","device":2}})")["value"], false);
}

TEST_F(InteropEngineTest, MakeBundleReusesHeldKeys) {
  ASSERT_EQ(Call(R"({"op":"new_party","party":"a","registration_id":9,"device":4})")["ok"], true);
  auto first = Call(R"({"op":"make_bundle","party":"a","signed_prekey_id":1,"prekey_id":2})");
  auto again = Call(R"({"op":"make_bundle","party":"a","signed_prekey_id":1,"prekey_id":2})");
  auto other = Call(R"({"op":"make_bundle","party":"a","signed_prekey_id":3,"prekey_id":null})");
  ASSERT_EQ(first["ok"], true);
  EXPECT_EQ(first["bundle"], again["bundle"]);
  EXPECT_EQ(first["bundle"]["registration_id"], 9);
  EXPECT_EQ(first["bundle"]["device"], 4);
  EXPECT_NE(other["bundle"]["signed_prekey"], first["bundle"]["signed_prekey"]);
  EXPECT_TRUE(other["bundle"]["prekey"].is_null());
}

}  // namespace
}  // namespace parley::interop
