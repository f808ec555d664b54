// AttachmentTransfer against a real parleyd on 127.0.0.1: create, upload and
// download; an upload and a download whose connections a loopback proxy cuts
// part-way resume where they stopped (HEAD, Range) instead of starting over;
// the pin, the credential, the size bound and unknown ids.
#include "client/attachment_transfer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "base/clock.h"
#include "client/client.h"
#include "parleyd_process.h"
#include "store/client_store.h"

namespace parley::client {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using ByteVector = std::vector<std::uint8_t>;

// A TCP relay on 127.0.0.1 that forwards to `upstream` and cuts a connection
// (both sides) once it has carried `cut_after` bytes in the chosen
// direction, for the first `cuts` connections that get that far.
class CuttingProxy {
 public:
  enum class Direction { kToServer, kToClient };

  CuttingProxy(std::uint16_t upstream, Direction direction, std::uint64_t cut_after, int cuts)
      : upstream_(upstream),
        direction_(direction),
        cut_after_(cut_after),
        cuts_left_(cuts),
        acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~CuttingProxy() {
    io_.stop();
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::uint64_t bytes(Direction d) const { return d == Direction::kToServer ? to_server_ : to_client_; }
  int cuts_made() const { return cuts_made_; }

 private:
  struct Pair {
    explicit Pair(net::io_context& io) : client(io), server(io) {}
    tcp::socket client;
    tcp::socket server;
    std::uint64_t carried = 0;  // in the cut direction
    bool cut = false;
    std::array<char, 16 * 1024> up{};
    std::array<char, 16 * 1024> down{};
  };

  void Accept() {
    auto pair = std::make_shared<Pair>(io_);
    acceptor_.async_accept(pair->client, [this, pair](boost::system::error_code ec) {
      if (ec) return;
      boost::system::error_code connect_ec;
      pair->server.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), upstream_), connect_ec);
      if (!connect_ec) {
        Pump(pair, true);
        Pump(pair, false);
      }
      Accept();
    });
  }

  void Close(const std::shared_ptr<Pair>& pair) {
    boost::system::error_code ignored;
    pair->client.close(ignored);
    pair->server.close(ignored);
  }

  void Pump(const std::shared_ptr<Pair>& pair, bool up) {
    tcp::socket& from = up ? pair->client : pair->server;
    auto& buffer = up ? pair->up : pair->down;
    from.async_read_some(net::buffer(buffer), [this, pair, up](boost::system::error_code ec, std::size_t n) {
      if (ec || pair->cut) return Close(pair);
      const bool watched = up == (direction_ == Direction::kToServer);
      std::size_t forward = n;
      bool cut_now = false;
      if (watched && cuts_left_ > 0 && pair->carried + n >= cut_after_) {
        forward = static_cast<std::size_t>(cut_after_ - pair->carried);
        cut_now = true;
      }
      if (watched) pair->carried += forward;
      (up ? to_server_ : to_client_) += forward;
      tcp::socket& to = up ? pair->server : pair->client;
      auto& buf = up ? pair->up : pair->down;
      net::async_write(to, net::buffer(buf.data(), forward),
                       [this, pair, up, cut_now](boost::system::error_code wec, std::size_t) {
                         if (wec) return Close(pair);
                         if (cut_now) {
                           --cuts_left_;
                           ++cuts_made_;
                           pair->cut = true;
                           return Close(pair);
                         }
                         Pump(pair, up);
                       });
    });
  }

  std::uint16_t upstream_;
  Direction direction_;
  std::uint64_t cut_after_;
  int cuts_left_;
  std::atomic<int> cuts_made_{0};
  std::atomic<std::uint64_t> to_server_{0};
  std::atomic<std::uint64_t> to_client_{0};
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

ByteVector Pattern(std::size_t n) {
  std::mt19937 gen(42);
  ByteVector v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(gen());
  return v;
}

ByteVector ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return ByteVector((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::filesystem::path& p, const ByteVector& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

class AttachmentTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/parley-attachment-transfer-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    server_ = std::make_unique<testing::ParleydProcess>(dir_);
    ASSERT_NE(server_->port(), 0) << testing::ReadWholeFile(dir_ / "parleyd.out");
    // A registered device, whose credential is read back from its store.
    ClientOptions options;
    options.data_dir = dir_ / "profile";
    options.key.key_file = dir_ / "profile.key";
    {
      auto client = Client::Open(options);
      ASSERT_TRUE(client);
      auto info =
          (*client)->Register({"127.0.0.1", server_->port(), server_->fingerprint()}, "carol", "laptop");
      ASSERT_TRUE(info);
    }
    auto key = store::KeyFromFile(options.key.key_file);
    ASSERT_TRUE(key);
    SystemClock clock;
    auto store = store::ClientStore::Open(options.data_dir / "parley.db", *key, clock);
    ASSERT_TRUE(store);
    auto account = (*store)->LoadAccount();
    ASSERT_TRUE(account && account->has_value());
    account_ = std::move(**account);
  }

  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  AttachmentTransferOptions Options(std::uint16_t port = 0) const {
    AttachmentTransferOptions o;
    o.host = "127.0.0.1";
    o.port = port == 0 ? server_->port() : port;
    o.pin = server_->fingerprint();
    o.account = account_.account;
    o.device = account_.device;
    o.credential = account_.credential;
    o.step_timeout = std::chrono::milliseconds(10'000);
    return o;
  }

  std::filesystem::path dir_;
  std::unique_ptr<testing::ParleydProcess> server_;
  store::LocalAccount account_;
};

TEST_F(AttachmentTransferTest, CreateUploadDownload) {
  const ByteVector blob = Pattern(300'000);
  WriteFile(dir_ / "blob", blob);
  AttachmentTransfer transfer(Options());
  auto id = transfer.Create(blob.size());
  ASSERT_TRUE(id) << ClientErrcName(id.error().code);
  auto offset = transfer.Offset(*id);
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, 0u);
  ASSERT_TRUE(transfer.Upload(*id, dir_ / "blob"));
  offset = transfer.Offset(*id);
  ASSERT_TRUE(offset);
  EXPECT_EQ(*offset, blob.size());
  // Uploading a finished attachment again is a no-op.
  EXPECT_TRUE(transfer.Upload(*id, dir_ / "blob"));

  auto got = transfer.Download(*id, dir_ / "download", blob.size());
  ASSERT_TRUE(got) << ClientErrcName(got.error().code);
  EXPECT_EQ(ReadFile(dir_ / "download"), blob);
  // A whole file is not fetched again: the server answers 416 for its end.
  ASSERT_TRUE(transfer.Download(*id, dir_ / "download", blob.size()));
  EXPECT_EQ(ReadFile(dir_ / "download"), blob);
}

TEST_F(AttachmentTransferTest, InterruptedUploadResumesAtTheServersOffset) {
  const ByteVector blob = Pattern(3'000'000);
  WriteFile(dir_ / "blob", blob);
  // Each of the first two connections that carry 1.2 MB toward the server is cut there.
  CuttingProxy proxy(server_->port(), CuttingProxy::Direction::kToServer, 1'200'000, 2);
  AttachmentTransfer transfer(Options(proxy.port()));
  auto id = transfer.Create(blob.size());
  ASSERT_TRUE(id);
  auto sent = transfer.Upload(*id, dir_ / "blob");
  ASSERT_TRUE(sent) << ClientErrcName(sent.error().code) << ": " << sent.error().message;
  EXPECT_EQ(proxy.cuts_made(), 2);
  // Resumed, not restarted: well under twice the blob crossed the proxy.
  EXPECT_LT(proxy.bytes(CuttingProxy::Direction::kToServer), blob.size() + blob.size() / 2);

  AttachmentTransfer direct(Options());
  ASSERT_TRUE(direct.Download(*id, dir_ / "download", blob.size()));
  EXPECT_EQ(ReadFile(dir_ / "download"), blob);
}

TEST_F(AttachmentTransferTest, InterruptedDownloadResumesWithRange) {
  const ByteVector blob = Pattern(3'000'000);
  WriteFile(dir_ / "blob", blob);
  AttachmentTransfer direct(Options());
  auto id = direct.Create(blob.size());
  ASSERT_TRUE(id);
  ASSERT_TRUE(direct.Upload(*id, dir_ / "blob"));

  CuttingProxy proxy(server_->port(), CuttingProxy::Direction::kToClient, 1'000'000, 2);
  AttachmentTransfer transfer(Options(proxy.port()));
  auto got = transfer.Download(*id, dir_ / "download", blob.size());
  ASSERT_TRUE(got) << ClientErrcName(got.error().code) << ": " << got.error().message;
  EXPECT_EQ(proxy.cuts_made(), 2);
  EXPECT_LT(proxy.bytes(CuttingProxy::Direction::kToClient), blob.size() + blob.size() / 2);
  EXPECT_EQ(ReadFile(dir_ / "download"), blob);
}

TEST_F(AttachmentTransferTest, ConnectionsThatKeepBreakingGiveUp) {
  const ByteVector blob = Pattern(2'000'000);
  WriteFile(dir_ / "blob", blob);
  CuttingProxy proxy(server_->port(), CuttingProxy::Direction::kToServer, 500'000, 1'000);
  auto options = Options(proxy.port());
  options.max_attempts = 2;
  AttachmentTransfer transfer(options);
  auto id = transfer.Create(blob.size());
  ASSERT_TRUE(id);
  auto sent = transfer.Upload(*id, dir_ / "blob");
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ClientErrc::kNetwork);
  EXPECT_EQ(proxy.cuts_made(), 2);
}

TEST_F(AttachmentTransferTest, RefusalsAreTyped) {
  const ByteVector blob = Pattern(10'000);
  WriteFile(dir_ / "blob", blob);
  AttachmentTransfer transfer(Options());
  auto id = transfer.Create(blob.size());
  ASSERT_TRUE(id);
  ASSERT_TRUE(transfer.Upload(*id, dir_ / "blob"));

  // Longer than the caller allows: refused before the body is read.
  auto small = transfer.Download(*id, dir_ / "small", blob.size() - 1);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().code, ClientErrc::kTooLarge);

  ContentId unknown{};
  unknown[0] = 1;
  auto missing = transfer.Download(unknown, dir_ / "missing", 1'000);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ClientErrc::kNotFound);

  // A blob file of another size than the attachment was created with.
  auto other = transfer.Create(blob.size() + 1);
  ASSERT_TRUE(other);
  auto wrong_size = transfer.Upload(*other, dir_ / "blob");
  ASSERT_FALSE(wrong_size);
  EXPECT_EQ(wrong_size.error().code, ClientErrc::kInvalidArgument);

  auto too_big = transfer.Create(kMaxAttachmentBytes + 1);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, ClientErrc::kTooLarge);

  auto wrong_pin = Options();
  wrong_pin.pin = std::string(64, '0');
  auto pinned = AttachmentTransfer(wrong_pin).Create(10);
  ASSERT_FALSE(pinned);
  EXPECT_EQ(pinned.error().code, ClientErrc::kNetwork);

  auto wrong_credential = Options();
  wrong_credential.credential.data()[0] ^= 1;
  auto refused = AttachmentTransfer(wrong_credential).Download(*id, dir_ / "refused", blob.size());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ClientErrc::kUnauthorized);
}

}  // namespace
}  // namespace parley::client
