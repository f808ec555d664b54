#include "wire/text.h"

#include <gtest/gtest.h>

namespace parley::wire {
namespace {

TEST(Username, CharacterSetAndLength) {
  EXPECT_TRUE(IsValidUsername("abc"));
  EXPECT_TRUE(IsValidUsername("Alice_B.42"));
  EXPECT_TRUE(IsValidUsername(std::string(32, 'x')));
  EXPECT_FALSE(IsValidUsername("ab"));
  EXPECT_FALSE(IsValidUsername(std::string(33, 'x')));
  EXPECT_FALSE(IsValidUsername(""));
  for (std::string_view bad :
       {std::string_view("a-b"), std::string_view("a b"), std::string_view("a@b"),
        std::string_view("ab\xC3\xA9"), std::string_view("ab/"), std::string_view("ab\0", 3)}) {
    EXPECT_FALSE(IsValidUsername(bad)) << bad;
  }
}

TEST(Username, CanonicalFormLowerCasesAsciiLettersOnly) {
  EXPECT_EQ(CanonicalUsername("Alice_B.42"), "alice_b.42");
  EXPECT_EQ(CanonicalUsername("alice"), "alice");
  EXPECT_EQ(CanonicalUsername("ZZ"), "zz");
  EXPECT_EQ(CanonicalUsername("AbC"), CanonicalUsername("aBc"));
}

TEST(DeviceName, Utf8WithoutControls) {
  EXPECT_TRUE(IsValidDeviceName("Alice's phone"));
  EXPECT_TRUE(IsValidDeviceName("\xE2\x98\x8E \xF0\x9F\x93\xB1"));  // U+260E, U+1F4F1
  EXPECT_TRUE(IsValidDeviceName("\xF4\x8F\xBF\xBF"));               // U+10FFFF
  EXPECT_TRUE(IsValidDeviceName(std::string(64, 'n')));
  EXPECT_FALSE(IsValidDeviceName(std::string(65, 'n')));
  EXPECT_FALSE(IsValidDeviceName(""));
  for (std::string_view bad :
       {std::string_view("a\tb"), std::string_view("\x7F"), std::string_view("\xC2\x80"),  // C1 control
        std::string_view("\x80"),                  // continuation first
        std::string_view("\xC1\xBF"),              // overlong
        std::string_view("\xE0\x80\xAF"),          // overlong
        std::string_view("\xED\xBF\xBF"),          // surrogate
        std::string_view("\xF4\x90\x80\x80"),      // past U+10FFFF
        std::string_view("\xF8\x88\x80\x80\x80"),  // 5-byte form
        std::string_view("\xE2\x98"),              // truncated
        std::string_view("\xE2\x28\xA1"),          // bad continuation
        std::string_view("x\0", 2)}) {
    EXPECT_FALSE(IsValidDeviceName(bad));
  }
}

TEST(LinkCode, UpperCaseLettersAndDigits) {
  EXPECT_TRUE(IsValidLinkCode("ABCDEFGHIJKLMNOP"));
  EXPECT_TRUE(IsValidLinkCode("MFRGGZDFMZTWQ2LKNNWG23TPOA"));
  EXPECT_TRUE(IsValidLinkCode(std::string(64, '9')));
  EXPECT_FALSE(IsValidLinkCode("ABCDEFGHIJKLMNO"));
  EXPECT_FALSE(IsValidLinkCode(std::string(65, '9')));
  EXPECT_FALSE(IsValidLinkCode("ABCDEFGHIJKLMNOp"));
  EXPECT_FALSE(IsValidLinkCode("ABCDEFGHIJKLMNO="));
}

TEST(InvitationToken, PrintableAsciiWithoutSpace) {
  EXPECT_TRUE(IsValidInvitationToken("x"));
  EXPECT_TRUE(IsValidInvitationToken("!~Az09"));
  EXPECT_TRUE(IsValidInvitationToken(std::string(64, 't')));
  EXPECT_FALSE(IsValidInvitationToken(""));
  EXPECT_FALSE(IsValidInvitationToken(std::string(65, 't')));
  EXPECT_FALSE(IsValidInvitationToken("a b"));
  EXPECT_FALSE(IsValidInvitationToken("\xC3\xA9"));
}

TEST(ErrorDetail, PrintableAscii) {
  EXPECT_TRUE(IsValidErrorDetail(""));
  EXPECT_TRUE(IsValidErrorDetail("username taken"));
  EXPECT_TRUE(IsValidErrorDetail(std::string(256, ' ')));
  EXPECT_FALSE(IsValidErrorDetail(std::string(257, ' ')));
  EXPECT_FALSE(IsValidErrorDetail("line\n"));
  EXPECT_FALSE(IsValidErrorDetail("\xC3\xA9"));
}

}  // namespace
}  // namespace parley::wire
