// parleyd's default FrameHandler over the real transport: wire requests get
// "unavailable", undecodable requests their decode status, other bytes a close.
#include "server/unavailable_frame_handler.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "server/server.h"
#include "test_client.h"
#include "wire/codec.h"

namespace parley::server {
namespace {

namespace websocket = boost::beast::websocket;

class UnavailableFrameHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-unavailable-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto cert = EnsureSelfSignedCertificate(dir_);
    ASSERT_TRUE(cert);
    ServerConfig config;
    config.port = 0;
    config.threads = 1;
    auto server =
        Server::Create(config, {std::make_shared<UnavailableFrameHandler>(config.limits.max_frame_bytes),
                                std::make_shared<MetricsRegistry>(),
                                {},
                                cert->files});
    ASSERT_TRUE(server);
    server_ = std::move(*server);
    server_->Start();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  wire::Response ReadResponse(testing::WebSocketClient& client) {
    std::string message;
    EXPECT_FALSE(client.Read(message));
    auto frame = wire::DecodeServerFrame(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(message.data()), message.size()));
    EXPECT_TRUE(frame);
    if (!frame || !std::holds_alternative<wire::Response>(*frame)) return {};
    return std::get<wire::Response>(*frame);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Server> server_;
};

TEST_F(UnavailableFrameHandlerTest, RequestsAreAnsweredUnavailable) {
  testing::WebSocketClient client(server_->port());
  ASSERT_FALSE(client.Connect());
  wire::Request ping;
  ping.id = 41;
  ping.body = wire::PingRequest{};
  auto bytes = wire::EncodeFrame(ping);
  ASSERT_TRUE(bytes);
  ASSERT_FALSE(client.SendBinary(std::string(bytes->begin(), bytes->end())));
  const wire::Response response = ReadResponse(client);
  EXPECT_EQ(response.id, 41u);
  EXPECT_EQ(response.status, wire::ResponseStatus::kUnavailable);
}

TEST_F(UnavailableFrameHandlerTest, BytesThatAreNoFrameCloseWithProtocolError) {
  testing::WebSocketClient client(server_->port());
  ASSERT_FALSE(client.Connect());
  ASSERT_FALSE(client.SendBinary(std::string("\xff\xff\xff", 3)));
  std::string message;
  EXPECT_EQ(client.Read(message), websocket::error::closed);
  EXPECT_EQ(client.close_reason().code, static_cast<std::uint16_t>(CloseCode::kProtocolError));
}

}  // namespace
}  // namespace parley::server
