#include "client/attachment_cipher.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "crypto/hash.h"

namespace parley::client {

namespace {

constexpr std::size_t kAesBlock = 16;
constexpr std::size_t kAesKeyBytes = 32;
constexpr std::size_t kPiece = 64 * 1024;
// IV, at most one block of PKCS#7 padding, MAC.
constexpr std::uint64_t kBlobOverhead = kAttachmentIvSize + kAesBlock + kAttachmentMacSize;

struct CipherContextDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

std::span<const std::uint8_t> AesKeyOf(const AttachmentKey& key) { return key.bytes().first<kAesKeyBytes>(); }
std::span<const std::uint8_t> MacKeyOf(const AttachmentKey& key) { return key.bytes().last<32>(); }

DigestContext NewSha256() {
  DigestContext sha(EVP_MD_CTX_new());
  if (!sha || EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1) std::abort();
  return sha;
}

AttachmentDigest FinishSha256(EVP_MD_CTX* sha) {
  AttachmentDigest digest{};
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(sha, digest.data(), &n) != 1 || n != digest.size()) std::abort();
  return digest;
}

AttachmentStatus CheckPlaintextSize(std::uint64_t size) {
  if (size == 0) return Fail(AttachmentErrc::kEmpty, "an attachment has at least one byte");
  if (size > kMaxAttachmentBytes)
    return Fail(AttachmentErrc::kTooLarge, "the attachment is over the size cap");
  return {};
}

// Closes a file descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  // Closes now, reporting a failed close (a lost write).
  bool Close() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

// Reads up to out.size() bytes; 0 at the end; nullopt on an error.
std::optional<std::size_t> ReadSome(int fd, std::span<std::uint8_t> out) {
  for (;;) {
    const ssize_t n = ::read(fd, out.data(), out.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return std::nullopt;
  }
}

bool WriteAll(int fd, Bytes bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

FileDescriptor CreatePrivateFile(const std::filesystem::path& path) {
  return FileDescriptor(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
}

}  // namespace

std::string_view AttachmentErrcName(AttachmentErrc code) {
  switch (code) {
    case AttachmentErrc::kIo:
      return "io";
    case AttachmentErrc::kTooLarge:
      return "too_large";
    case AttachmentErrc::kEmpty:
      return "empty";
    case AttachmentErrc::kTruncated:
      return "truncated";
    case AttachmentErrc::kBadMac:
      return "bad_mac";
    case AttachmentErrc::kBadDigest:
      return "bad_digest";
    case AttachmentErrc::kBadPadding:
      return "bad_padding";
    case AttachmentErrc::kWrongSize:
      return "wrong_size";
  }
  return "unknown";
}

std::uint64_t PaddedAttachmentSize(std::uint64_t size) {
  std::uint64_t bucket = kMinAttachmentBucket;
  while (bucket < size) bucket = bucket * 21 / 20;
  // Padding never pushes a blob past the size cap that the plaintext fits in.
  return std::max(size, std::min(bucket, kMaxAttachmentBytes - kBlobOverhead));
}

std::uint64_t EncryptedAttachmentSize(std::uint64_t size) {
  const std::uint64_t padded = PaddedAttachmentSize(size);
  return kAttachmentIvSize + (padded / kAesBlock + 1) * kAesBlock + kAttachmentMacSize;
}

// ---- AttachmentEncryptor ---------------------------------------------------

struct AttachmentEncryptor::State {
  State(const AttachmentKey& key, const AttachmentIv& iv_bytes)
      : mac(MacKeyOf(key)), sha(NewSha256()), cipher(EVP_CIPHER_CTX_new()), iv(iv_bytes) {}
  crypto::HmacSha256Hasher mac;
  DigestContext sha;
  CipherContext cipher;
  AttachmentIv iv;
  std::uint64_t size = 0;
  std::uint64_t taken = 0;
  std::uint64_t padding_left = 0;
  bool iv_written = false;
  bool finished = false;
  std::vector<std::uint8_t> scratch = std::vector<std::uint8_t>(kPiece + kAesBlock);

  // Appends `bytes` of the blob to out and to the MAC and digest.
  void Emit(Bytes bytes, std::vector<std::uint8_t>& out, bool under_mac) {
    if (under_mac) mac.Update(bytes);
    EVP_DigestUpdate(sha.get(), bytes.data(), bytes.size());
    out.insert(out.end(), bytes.begin(), bytes.end());
  }
  void EmitIvOnce(std::vector<std::uint8_t>& out) {
    if (iv_written) return;
    iv_written = true;
    Emit(iv, out, true);
  }
  void Encrypt(Bytes plaintext, std::vector<std::uint8_t>& out) {
    while (!plaintext.empty()) {
      const std::size_t n = std::min(plaintext.size(), kPiece);
      int produced = 0;
      if (EVP_EncryptUpdate(cipher.get(), scratch.data(), &produced, plaintext.data(), static_cast<int>(n)) !=
          1) {
        std::abort();
      }
      Emit(Bytes(scratch.data(), static_cast<std::size_t>(produced)), out, true);
      plaintext = plaintext.subspan(n);
    }
  }
};

AttachmentResult<std::unique_ptr<AttachmentEncryptor>> AttachmentEncryptor::Create(
    const AttachmentKey& key, const AttachmentIv& iv, std::uint64_t plaintext_size) {
  if (auto ok = CheckPlaintextSize(plaintext_size); !ok) return tl::unexpected(ok.error());
  auto state = std::make_unique<State>(key, iv);
  state->size = plaintext_size;
  state->padding_left = PaddedAttachmentSize(plaintext_size) - plaintext_size;
  if (!state->cipher || EVP_EncryptInit_ex(state->cipher.get(), EVP_aes_256_cbc(), nullptr,
                                           AesKeyOf(key).data(), iv.data()) != 1) {
    std::abort();
  }
  return std::unique_ptr<AttachmentEncryptor>(new AttachmentEncryptor(std::move(state)));
}

AttachmentEncryptor::AttachmentEncryptor(std::unique_ptr<State> state) : state_(std::move(state)) {}
AttachmentEncryptor::~AttachmentEncryptor() = default;

AttachmentStatus AttachmentEncryptor::Update(Bytes plaintext, std::vector<std::uint8_t>& out) {
  State& s = *state_;
  if (s.finished || plaintext.size() > s.size - s.taken) {
    return Fail(AttachmentErrc::kTooLarge, "more plaintext than the attachment's size");
  }
  s.taken += plaintext.size();
  s.EmitIvOnce(out);
  s.Encrypt(plaintext, out);
  return {};
}

AttachmentResult<std::uint64_t> AttachmentEncryptor::AddPadding(std::vector<std::uint8_t>& out) {
  State& s = *state_;
  if (s.finished || s.taken != s.size) {
    return Fail(AttachmentErrc::kWrongSize, "less plaintext than the attachment's size");
  }
  s.EmitIvOnce(out);
  static constexpr std::array<std::uint8_t, 4096> kZeros{};
  for (std::size_t budget = kPiece; s.padding_left > 0 && budget > 0;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>({s.padding_left, kZeros.size(), budget}));
    s.Encrypt(Bytes(kZeros.data(), n), out);
    s.padding_left -= n;
    budget -= n;
  }
  return s.padding_left;
}

AttachmentResult<AttachmentDigest> AttachmentEncryptor::Finish(std::vector<std::uint8_t>& out) {
  State& s = *state_;
  if (s.finished || s.taken != s.size) {
    return Fail(AttachmentErrc::kWrongSize, "less plaintext than the attachment's size");
  }
  for (;;) {
    auto left = AddPadding(out);
    if (!left) return tl::unexpected(left.error());
    if (*left == 0) break;
  }
  s.finished = true;
  int produced = 0;
  if (EVP_EncryptFinal_ex(s.cipher.get(), s.scratch.data(), &produced) != 1) std::abort();
  s.Emit(Bytes(s.scratch.data(), static_cast<std::size_t>(produced)), out, true);
  std::array<std::uint8_t, kAttachmentMacSize> tag{};
  s.mac.FinalInto(tag);
  s.Emit(tag, out, false);
  return FinishSha256(s.sha.get());
}

// ---- AttachmentDecryptor ---------------------------------------------------

struct AttachmentDecryptor::State {
  State(const AttachmentKey& key_bytes, const AttachmentDigest& expected)
      : key(key_bytes),
        mac(MacKeyOf(key)),
        sha(NewSha256()),
        cipher(EVP_CIPHER_CTX_new()),
        digest(expected) {}
  AttachmentKey key;
  crypto::HmacSha256Hasher mac;
  DigestContext sha;
  CipherContext cipher;
  AttachmentDigest digest;
  std::uint64_t size = 0;      // plaintext bytes stated by the pointer
  std::uint64_t max_blob = 0;  // longest acceptable blob
  std::uint64_t seen = 0;      // blob bytes taken so far
  std::uint64_t produced = 0;  // plaintext bytes decrypted (padding included)
  AttachmentIv iv{};
  std::size_t iv_filled = 0;
  // The last bytes seen, which may be the MAC: held back until the next
  // Update shows they were not.
  std::array<std::uint8_t, kAttachmentMacSize> tail{};
  std::size_t tail_size = 0;
  bool finished = false;
  std::vector<std::uint8_t> scratch = std::vector<std::uint8_t>(kPiece + kAesBlock);

  // Hands plaintext to out, cut at the stated size (the rest is padding).
  void Deliver(std::size_t n, std::vector<std::uint8_t>& out) {
    const std::uint64_t wanted = produced < size ? size - produced : 0;
    const std::size_t keep = static_cast<std::size_t>(std::min<std::uint64_t>(wanted, n));
    out.insert(out.end(), scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(keep));
    produced += n;
  }

  // Bytes known not to be the MAC: the IV, then ciphertext.
  void Process(Bytes bytes, std::vector<std::uint8_t>& out) {
    if (bytes.empty()) return;
    mac.Update(bytes);
    if (iv_filled < iv.size()) {
      const std::size_t n = std::min(bytes.size(), iv.size() - iv_filled);
      std::copy_n(bytes.begin(), n, iv.begin() + static_cast<std::ptrdiff_t>(iv_filled));
      iv_filled += n;
      bytes = bytes.subspan(n);
      if (iv_filled == iv.size() && EVP_DecryptInit_ex(cipher.get(), EVP_aes_256_cbc(), nullptr,
                                                       AesKeyOf(key).data(), iv.data()) != 1) {
        std::abort();
      }
    }
    while (!bytes.empty()) {
      const std::size_t n = std::min(bytes.size(), kPiece);
      int got = 0;
      if (EVP_DecryptUpdate(cipher.get(), scratch.data(), &got, bytes.data(), static_cast<int>(n)) != 1) {
        std::abort();
      }
      Deliver(static_cast<std::size_t>(got), out);
      bytes = bytes.subspan(n);
    }
  }
};

AttachmentResult<std::unique_ptr<AttachmentDecryptor>> AttachmentDecryptor::Create(
    const AttachmentKey& key, const AttachmentDigest& digest, std::uint64_t plaintext_size) {
  if (auto ok = CheckPlaintextSize(plaintext_size); !ok) return tl::unexpected(ok.error());
  auto state = std::make_unique<State>(key, digest);
  if (!state->cipher) std::abort();
  state->size = plaintext_size;
  state->max_blob = EncryptedAttachmentSize(plaintext_size);
  return std::unique_ptr<AttachmentDecryptor>(new AttachmentDecryptor(std::move(state)));
}

AttachmentDecryptor::AttachmentDecryptor(std::unique_ptr<State> state) : state_(std::move(state)) {}
AttachmentDecryptor::~AttachmentDecryptor() = default;

std::uint64_t AttachmentDecryptor::max_blob_size() const { return state_->max_blob; }

AttachmentStatus AttachmentDecryptor::Update(Bytes blob, std::vector<std::uint8_t>& out) {
  State& s = *state_;
  if (s.finished || blob.size() > s.max_blob - s.seen) {
    return Fail(AttachmentErrc::kTooLarge, "the blob is longer than the attachment's size allows");
  }
  s.seen += blob.size();
  EVP_DigestUpdate(s.sha.get(), blob.data(), blob.size());
  const std::size_t available = s.tail_size + blob.size();
  if (available <= s.tail.size()) {
    std::copy(blob.begin(), blob.end(), s.tail.begin() + static_cast<std::ptrdiff_t>(s.tail_size));
    s.tail_size = available;
    return {};
  }
  // Everything but the last 32 bytes seen is IV or ciphertext.
  const std::size_t release = available - s.tail.size();
  const std::size_t from_tail = std::min(release, s.tail_size);
  s.Process(Bytes(s.tail.data(), from_tail), out);
  const std::size_t from_blob = release - from_tail;
  s.Process(blob.first(from_blob), out);
  std::array<std::uint8_t, kAttachmentMacSize> next{};
  const std::size_t old_kept = s.tail_size - from_tail;
  std::copy_n(s.tail.begin() + static_cast<std::ptrdiff_t>(from_tail), old_kept, next.begin());
  std::copy(blob.begin() + static_cast<std::ptrdiff_t>(from_blob), blob.end(),
            next.begin() + static_cast<std::ptrdiff_t>(old_kept));
  s.tail = next;
  s.tail_size = s.tail.size();
  return {};
}

AttachmentStatus AttachmentDecryptor::Finish(std::vector<std::uint8_t>& out) {
  State& s = *state_;
  if (s.finished) return Fail(AttachmentErrc::kTruncated, "the blob was already finished");
  s.finished = true;
  constexpr std::uint64_t kShortest = kAttachmentIvSize + kAesBlock + kAttachmentMacSize;
  if (s.seen < kShortest || (s.seen - kAttachmentIvSize - kAttachmentMacSize) % kAesBlock != 0) {
    return Fail(AttachmentErrc::kTruncated, "the blob is not IV, whole blocks and a MAC");
  }
  std::array<std::uint8_t, kAttachmentMacSize> tag{};
  s.mac.FinalInto(tag);
  if (!crypto::ConstantTimeEqual(tag, Bytes(s.tail.data(), s.tail_size))) {
    return Fail(AttachmentErrc::kBadMac, "the attachment's MAC does not verify");
  }
  if (!crypto::ConstantTimeEqual(FinishSha256(s.sha.get()), s.digest)) {
    return Fail(AttachmentErrc::kBadDigest, "the attachment's digest does not match");
  }
  int got = 0;
  if (EVP_DecryptFinal_ex(s.cipher.get(), s.scratch.data(), &got) != 1) {
    return Fail(AttachmentErrc::kBadPadding, "the attachment's padding is malformed");
  }
  s.Deliver(static_cast<std::size_t>(got), out);
  if (s.produced < s.size) {
    return Fail(AttachmentErrc::kWrongSize, "the attachment is shorter than its stated size");
  }
  return {};
}

// ---- Files -------------------------------------------------------------------

AttachmentResult<EncryptedAttachmentFile> EncryptAttachmentFile(const std::filesystem::path& plaintext,
                                                                const std::filesystem::path& blob,
                                                                const AttachmentKey& key,
                                                                const AttachmentIv& iv) {
  FileDescriptor in(::open(plaintext.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!in.ok() || ::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail(AttachmentErrc::kIo, "cannot open the file to send");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  auto encryptor = AttachmentEncryptor::Create(key, iv, size);
  if (!encryptor) return tl::unexpected(encryptor.error());
  FileDescriptor out = CreatePrivateFile(blob);
  if (!out.ok()) return Fail(AttachmentErrc::kIo, "cannot create the encrypted file");
  std::vector<std::uint8_t> piece(kPiece);
  std::vector<std::uint8_t> encrypted;
  encrypted.reserve(kPiece + 2 * kAesBlock + kAttachmentMacSize);
  std::uint64_t blob_size = 0;
  for (std::uint64_t left = size; left > 0;) {
    auto n = ReadSome(
        in.get(), std::span(piece).first(static_cast<std::size_t>(std::min<std::uint64_t>(left, kPiece))));
    if (!n || *n == 0) return Fail(AttachmentErrc::kIo, "the file to send changed or cannot be read");
    left -= *n;
    encrypted.clear();
    if (auto ok = (*encryptor)->Update(Bytes(piece.data(), *n), encrypted); !ok)
      return tl::unexpected(ok.error());
    if (!WriteAll(out.get(), encrypted)) return Fail(AttachmentErrc::kIo, "cannot write the encrypted file");
    blob_size += encrypted.size();
  }
  for (;;) {
    encrypted.clear();
    auto left = (*encryptor)->AddPadding(encrypted);
    if (!left) return tl::unexpected(left.error());
    if (!WriteAll(out.get(), encrypted)) return Fail(AttachmentErrc::kIo, "cannot write the encrypted file");
    blob_size += encrypted.size();
    if (*left == 0) break;
  }
  encrypted.clear();
  auto digest = (*encryptor)->Finish(encrypted);
  if (!digest) return tl::unexpected(digest.error());
  if (!WriteAll(out.get(), encrypted) || ::fsync(out.get()) != 0 || !out.Close()) {
    return Fail(AttachmentErrc::kIo, "cannot write the encrypted file");
  }
  blob_size += encrypted.size();
  return EncryptedAttachmentFile{*digest, size, blob_size};
}

AttachmentStatus DecryptAttachmentFile(const std::filesystem::path& blob,
                                       const std::filesystem::path& destination, const AttachmentKey& key,
                                       const AttachmentDigest& digest, std::uint64_t plaintext_size) {
  auto decryptor = AttachmentDecryptor::Create(key, digest, plaintext_size);
  if (!decryptor) return tl::unexpected(decryptor.error());
  FileDescriptor in(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.ok()) return Fail(AttachmentErrc::kIo, "cannot open the downloaded attachment");
  std::filesystem::path temporary = destination;
  temporary += ".partial";
  FileDescriptor out = CreatePrivateFile(temporary);
  if (!out.ok()) return Fail(AttachmentErrc::kIo, "cannot create the attachment file");
  auto fail = [&](AttachmentErrc code, std::string_view why) -> AttachmentStatus {
    out.Close();
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    return Fail(code, why);
  };
  std::vector<std::uint8_t> piece(kPiece);
  std::vector<std::uint8_t> plaintext;
  plaintext.reserve(kPiece + kAesBlock);
  for (;;) {
    auto n = ReadSome(in.get(), piece);
    if (!n) return fail(AttachmentErrc::kIo, "cannot read the downloaded attachment");
    if (*n == 0) break;
    plaintext.clear();
    if (auto ok = (*decryptor)->Update(Bytes(piece.data(), *n), plaintext); !ok) {
      return fail(ok.error().code, ok.error().message);
    }
    if (!WriteAll(out.get(), plaintext)) return fail(AttachmentErrc::kIo, "cannot write the attachment file");
  }
  plaintext.clear();
  if (auto ok = (*decryptor)->Finish(plaintext); !ok) return fail(ok.error().code, ok.error().message);
  if (!WriteAll(out.get(), plaintext) || ::fsync(out.get()) != 0) {
    return fail(AttachmentErrc::kIo, "cannot write the attachment file");
  }
  if (!out.Close()) return fail(AttachmentErrc::kIo, "cannot write the attachment file");
  std::error_code ec;
  std::filesystem::rename(temporary, destination, ec);
  if (ec) return fail(AttachmentErrc::kIo, "cannot move the attachment into place");
  return {};
}

}  // namespace parley::client
