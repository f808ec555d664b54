#include <gtest/gtest.h>

#include "server/http_route.h"

namespace parley::server {
namespace {

HttpRoute MakeRoute(std::vector<HttpMethod> methods, std::string path) {
  return {std::move(methods), std::move(path), std::nullopt, [](std::shared_ptr<HttpExchange>) {}};
}

TEST(HttpRouter, ExactPathsBeatPrefixesAndLongerPrefixesWin) {
  HttpRouter router;
  ASSERT_TRUE(router.Add(MakeRoute({HttpMethod::kPost}, "/v1/attachments")));
  ASSERT_TRUE(
      router.Add(MakeRoute({HttpMethod::kGet, HttpMethod::kHead, HttpMethod::kPatch}, "/v1/attachments/")));
  ASSERT_TRUE(router.Add(MakeRoute({HttpMethod::kGet}, "/v1/")));

  auto create = router.Find("/v1/attachments", HttpMethod::kPost);
  ASSERT_NE(create.route, nullptr);
  EXPECT_EQ(create.route->path, "/v1/attachments");

  auto fetch = router.Find("/v1/attachments/0123abcd", HttpMethod::kGet);
  ASSERT_NE(fetch.route, nullptr);
  EXPECT_EQ(fetch.route->path, "/v1/attachments/");

  auto other = router.Find("/v1/other", HttpMethod::kGet);
  ASSERT_NE(other.route, nullptr);
  EXPECT_EQ(other.route->path, "/v1/");

  EXPECT_EQ(router.Find("/v2/x", HttpMethod::kGet).route, nullptr);
  EXPECT_TRUE(router.Find("/v2/x", HttpMethod::kGet).allowed.empty());
}

TEST(HttpRouter, WrongMethodListsTheAllowedOnes) {
  HttpRouter router;
  ASSERT_TRUE(router.Add(MakeRoute({HttpMethod::kGet, HttpMethod::kHead}, "/v1/attachments/")));
  ASSERT_TRUE(router.Add(MakeRoute({HttpMethod::kPatch}, "/v1/attachments/")));
  auto match = router.Find("/v1/attachments/x", HttpMethod::kDelete);
  EXPECT_EQ(match.route, nullptr);
  EXPECT_EQ(match.allowed,
            (std::vector<HttpMethod>{HttpMethod::kGet, HttpMethod::kHead, HttpMethod::kPatch}));
  auto patch = router.Find("/v1/attachments/x", HttpMethod::kPatch);
  ASSERT_NE(patch.route, nullptr);
}

TEST(HttpRouter, RejectsConflictsAndMalformedRoutes) {
  HttpRouter router;
  ASSERT_TRUE(router.Add(MakeRoute({HttpMethod::kGet}, "/healthz")));
  EXPECT_FALSE(router.Add(MakeRoute({HttpMethod::kHead, HttpMethod::kGet}, "/healthz")));
  EXPECT_TRUE(router.Add(MakeRoute({HttpMethod::kHead}, "/healthz")));
  EXPECT_FALSE(router.Add(MakeRoute({HttpMethod::kGet}, "")));
  EXPECT_FALSE(router.Add(MakeRoute({HttpMethod::kGet}, "relative")));
  EXPECT_FALSE(router.Add(MakeRoute({}, "/x")));
  EXPECT_FALSE(router.Add({{HttpMethod::kGet}, "/y", std::nullopt, nullptr}));
}

TEST(HttpRequestHead, FieldLooksUpLowerCaseNames) {
  HttpRequestHead head;
  head.fields = {{"content-type", "application/octet-stream"}, {"x-upload-offset", "10"}};
  EXPECT_EQ(head.Field("x-upload-offset"), "10");
  EXPECT_FALSE(head.Field("authorization"));
}

}  // namespace
}  // namespace parley::server
