#include "base/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/rng.h"

namespace parley {
namespace {

std::vector<std::uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// RFC 4648 section 10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base64Encode(Bytes(plain)), encoded);
    EXPECT_EQ(Base64Decode(encoded), Bytes(plain)) << encoded;
  }
}

TEST(Base64, RoundTripsRandomBytes) {
  DeterministicRng rng(3);
  for (std::size_t n = 0; n < 70; ++n) {
    std::vector<std::uint8_t> data(n);
    rng.Fill(data);
    EXPECT_EQ(Base64Decode(Base64Encode(data)), data);
  }
}

TEST(Base64, RejectsNonCanonical) {
  for (const char* bad : {"Zg", "Zg=", "Zg===", "Z===", "====", "Zm9v=", "Zh==", "Zm9=", "Zm8=Zm8=", "Zm 9v",
                          "Zm9v\n", "Zm-_", "Z=g=", "=Zg="}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

TEST(Base64, EnforcesMaxSize) {
  EXPECT_TRUE(Base64Decode("Zm9v", 3).has_value());
  EXPECT_FALSE(Base64Decode("Zm9v", 2).has_value());
}

}  // namespace
}  // namespace parley
