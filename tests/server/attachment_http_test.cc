// The attachment header decoders: what they accept and each error case.
#include "server/attachment_http.h"

#include <gtest/gtest.h>

#include <string>

#include "base/base64.h"

namespace parley::server {
namespace {

using Errc = AttachmentHeaderErrc;

std::string Basic(const std::string& user) {
  return "Basic " + Base64Encode({reinterpret_cast<const std::uint8_t*>(user.data()), user.size()});
}

const std::string kAccount = "0f8fad5b-d9cb-469f-a165-70867728950e";
const std::string kCredentialHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(AttachmentHttp, ParsesBasicCredentials) {
  auto login = ParseBasicAuthorization(Basic(kAccount + ".12:" + kCredentialHex));
  ASSERT_TRUE(login);
  EXPECT_EQ(login->account.value().ToString(), kAccount);
  EXPECT_EQ(login->device.value(), 12u);
  for (std::size_t i = 0; i < 32; ++i) EXPECT_EQ(login->credential.secret.bytes()[i], i);
  // The scheme name is case-insensitive.
  EXPECT_TRUE(ParseBasicAuthorization("bAsIc " + Basic(kAccount + ".1:" + kCredentialHex).substr(6)));
}

TEST(AttachmentHttp, RefusesBadCredentials) {
  auto code = [](const std::string& value) { return ParseBasicAuthorization(value).error().code; };
  EXPECT_EQ(code(""), Errc::kMissing);
  EXPECT_EQ(code("Bearer abc"), Errc::kMalformed);
  EXPECT_EQ(code("Basic"), Errc::kMalformed);
  EXPECT_EQ(code("Basic  " + Basic(kAccount + ".1:" + kCredentialHex).substr(6)), Errc::kMalformed);
  EXPECT_EQ(code("Basic !!!!"), Errc::kMalformed);
  EXPECT_EQ(code(Basic(kAccount + ".1:" + kCredentialHex) + " "), Errc::kMalformed);
  EXPECT_EQ(code(Basic("not-a-uuid-not-a-uuid-not-a-uuid-123.1:" + kCredentialHex)), Errc::kMalformed);
  EXPECT_EQ(code(Basic(kAccount + ":" + kCredentialHex)), Errc::kMalformed);
  EXPECT_EQ(code(Basic(kAccount + ".:" + kCredentialHex)), Errc::kMalformed);
  EXPECT_EQ(code(Basic(kAccount + ".01:" + kCredentialHex)), Errc::kMalformed);
  EXPECT_EQ(code(Basic(kAccount + ".0:" + kCredentialHex)), Errc::kOutOfRange);
  EXPECT_EQ(code(Basic(kAccount + ".128:" + kCredentialHex)), Errc::kOutOfRange);
  EXPECT_FALSE(ParseBasicAuthorization(Basic(kAccount + ".1" + kCredentialHex)));  // no colon
  EXPECT_EQ(code(Basic(kAccount + ".1:" + kCredentialHex.substr(2))), Errc::kMalformed);
  EXPECT_EQ(code(Basic(kAccount + ".1:" + kCredentialHex + "00")), Errc::kMalformed);
  std::string upper = kCredentialHex;
  upper[21] = 'A';
  EXPECT_EQ(code(Basic(kAccount + ".1:" + upper)), Errc::kMalformed);
  EXPECT_EQ(code("Basic " + std::string(kMaxAttachmentHeaderValueBytes, 'A')), Errc::kMalformed);
}

TEST(AttachmentHttp, AttachmentIdsAreThirtyTwoLowerCaseHexDigits) {
  const std::string text = "00112233445566778899aabbccddeeff";
  auto id = ParseAttachmentId(text);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->value()[15], 0xff);
  EXPECT_EQ(AttachmentIdToString(*id), text);
  EXPECT_EQ(ParseAttachmentId("").error().code, Errc::kMissing);
  EXPECT_EQ(ParseAttachmentId(text.substr(1)).error().code, Errc::kMalformed);
  EXPECT_EQ(ParseAttachmentId(text + "0").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseAttachmentId("00112233445566778899AABBCCDDEEFF").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseAttachmentId("00112233445566778899aabbccddeefg").error().code, Errc::kMalformed);
}

TEST(AttachmentHttp, DecimalNumbers) {
  EXPECT_EQ(*ParseDecimal("0"), 0u);
  EXPECT_EQ(*ParseDecimal("104857600"), 104857600u);
  EXPECT_EQ(*ParseDecimal("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseDecimal("").error().code, Errc::kMissing);
  EXPECT_EQ(ParseDecimal("18446744073709551616").error().code, Errc::kOutOfRange);
  EXPECT_EQ(ParseDecimal("007").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseDecimal("-1").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseDecimal("+1").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseDecimal(" 1").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseDecimal("1 ").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseDecimal("1e3").error().code, Errc::kMalformed);
}

TEST(AttachmentHttp, RangeIsBytesFromOnwards) {
  EXPECT_EQ(*ParseRangeStart("bytes=0-"), 0u);
  EXPECT_EQ(*ParseRangeStart("Bytes=1000-"), 1000u);
  EXPECT_EQ(ParseRangeStart("").error().code, Errc::kMissing);
  EXPECT_EQ(ParseRangeStart("bytes=0-99").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseRangeStart("bytes=-500").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseRangeStart("bytes=1-,5-").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseRangeStart("items=1-").error().code, Errc::kMalformed);
  EXPECT_EQ(ParseRangeStart("bytes=99999999999999999999-").error().code, Errc::kOutOfRange);
}

}  // namespace
}  // namespace parley::server
