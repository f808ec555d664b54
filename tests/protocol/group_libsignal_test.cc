// Sender keys and safety numbers against libsignal-protocol-c 2.3.3, the
// independent implementation on this machine: the chain, the exact bytes of
// distribution and group messages, group traffic in both directions, and the
// fingerprint generator. The peer gets its own crypto provider on OpenSSL, so
// nothing of Parley's crypto layer is on its side.
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

extern "C" {
#include <fingerprint.h>
#include <group_cipher.h>
#include <group_session_builder.h>
#include <protocol.h>
#include <sender_key.h>
#include <signal_protocol.h>
}

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "base/hex.h"
#include "base/rng.h"
#include "crypto/x25519.h"
#include "protocol/fingerprint.h"
#include "protocol/group_cipher.h"
#include "protocol/group_session_builder.h"
#include "protocol/sender_key_chain.h"
#include "protocol/sender_key_distribution_message.h"
#include "protocol/sender_key_message.h"
#include "protocol/sender_key_store.h"

namespace parley::protocol {
namespace {

using Buf = std::vector<std::uint8_t>;

// ---- the peer's crypto provider (OpenSSL) ----

int RandomBytes(uint8_t* data, size_t len, void* user_data) {
  static_cast<Rng*>(user_data)->Fill(std::span<std::uint8_t>(data, len));
  return 0;
}

int HmacInit(void** context, const uint8_t* key, size_t key_len, void*) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr;
  EVP_MAC_free(mac);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (ctx == nullptr || EVP_MAC_init(ctx, key, key_len, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return SG_ERR_UNKNOWN;
  }
  *context = ctx;
  return 0;
}

int HmacUpdate(void* context, const uint8_t* data, size_t len, void*) {
  return EVP_MAC_update(static_cast<EVP_MAC_CTX*>(context), data, len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

int HmacFinal(void* context, signal_buffer** output, void*) {
  std::array<std::uint8_t, 32> tag{};
  size_t len = 0;
  if (EVP_MAC_final(static_cast<EVP_MAC_CTX*>(context), tag.data(), &len, tag.size()) != 1)
    return SG_ERR_UNKNOWN;
  *output = signal_buffer_create(tag.data(), len);
  return *output != nullptr ? 0 : SG_ERR_NOMEM;
}

void HmacCleanup(void* context, void*) { EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(context)); }

int ShaInit(void** context, void*) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return SG_ERR_UNKNOWN;
  }
  *context = ctx;
  return 0;
}

int ShaUpdate(void* context, const uint8_t* data, size_t len, void*) {
  return EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context), data, len) == 1 ? 0 : SG_ERR_UNKNOWN;
}

// The fingerprint generator reuses one context across rounds, so final resets it.
int ShaFinal(void* context, signal_buffer** output, void*) {
  auto* ctx = static_cast<EVP_MD_CTX*>(context);
  std::array<std::uint8_t, 64> digest{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, digest.data(), &len) != 1 ||
      EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr) != 1) {
    return SG_ERR_UNKNOWN;
  }
  *output = signal_buffer_create(digest.data(), len);
  return *output != nullptr ? 0 : SG_ERR_NOMEM;
}

void ShaCleanup(void* context, void*) { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context)); }

const EVP_CIPHER* CipherFor(int cipher, size_t key_len) {
  if (cipher == SG_CIPHER_AES_CBC_PKCS5) {
    return key_len == 16 ? EVP_aes_128_cbc() : key_len == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
  }
  return key_len == 16 ? EVP_aes_128_ctr() : key_len == 24 ? EVP_aes_192_ctr() : EVP_aes_256_ctr();
}

int Crypt(signal_buffer** output, int cipher, const uint8_t* key, size_t key_len, const uint8_t* iv,
          size_t iv_len, const uint8_t* input, size_t input_len, int encrypt) {
  if (iv_len != 16 || (key_len != 16 && key_len != 24 && key_len != 32)) return SG_ERR_INVAL;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  if (!ctx || EVP_CipherInit_ex(ctx.get(), CipherFor(cipher, key_len), nullptr, key, iv, encrypt) != 1) {
    return SG_ERR_UNKNOWN;
  }
  Buf out(input_len + 16);
  int len = 0;
  int final_len = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &len, input, static_cast<int>(input_len)) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    return SG_ERR_UNKNOWN;
  }
  *output = signal_buffer_create(out.data(), static_cast<size_t>(len + final_len));
  return *output != nullptr ? 0 : SG_ERR_NOMEM;
}

int AesEncrypt(signal_buffer** output, int cipher, const uint8_t* key, size_t key_len, const uint8_t* iv,
               size_t iv_len, const uint8_t* plaintext, size_t plaintext_len, void*) {
  return Crypt(output, cipher, key, key_len, iv, iv_len, plaintext, plaintext_len, 1);
}

int AesDecrypt(signal_buffer** output, int cipher, const uint8_t* key, size_t key_len, const uint8_t* iv,
               size_t iv_len, const uint8_t* ciphertext, size_t ciphertext_len, void*) {
  return Crypt(output, cipher, key, key_len, iv, iv_len, ciphertext, ciphertext_len, 0);
}

// ---- ownership of the peer's objects ----

struct TypeUnref {
  void operator()(void* p) const {
    if (p != nullptr) signal_type_unref(static_cast<signal_type_base*>(p));
  }
};
template <class T>
using Ref = std::unique_ptr<T, TypeUnref>;

struct BufferFree {
  void operator()(signal_buffer* b) const { signal_buffer_free(b); }
};
using BufferPtr = std::unique_ptr<signal_buffer, BufferFree>;

Buf ToBuf(const signal_buffer* b) {
  const uint8_t* data = signal_buffer_const_data(b);
  return Buf(data, data + signal_buffer_len(b));
}

// One libsignal-protocol-c party: a context, a provider and a sender-key store.
class Peer {
 public:
  explicit Peer(std::uint64_t seed) : rng_(seed) {
    EXPECT_EQ(signal_context_create(&context_, nullptr), 0);
    signal_crypto_provider provider{};
    provider.random_func = RandomBytes;
    provider.hmac_sha256_init_func = HmacInit;
    provider.hmac_sha256_update_func = HmacUpdate;
    provider.hmac_sha256_final_func = HmacFinal;
    provider.hmac_sha256_cleanup_func = HmacCleanup;
    provider.sha512_digest_init_func = ShaInit;
    provider.sha512_digest_update_func = ShaUpdate;
    provider.sha512_digest_final_func = ShaFinal;
    provider.sha512_digest_cleanup_func = ShaCleanup;
    provider.encrypt_func = AesEncrypt;
    provider.decrypt_func = AesDecrypt;
    provider.user_data = &rng_;
    EXPECT_EQ(signal_context_set_crypto_provider(context_, &provider), 0);
    EXPECT_EQ(signal_protocol_store_context_create(&store_, context_), 0);
    signal_protocol_sender_key_store keys{};
    keys.store_sender_key = StoreKey;
    keys.load_sender_key = LoadKey;
    keys.user_data = &records_;
    EXPECT_EQ(signal_protocol_store_context_set_sender_key_store(store_, &keys), 0);
  }
  ~Peer() {
    signal_protocol_store_context_destroy(store_);
    signal_context_destroy(context_);
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  signal_context* context() { return context_; }

  // Our own distribution message for (group, name).
  Buf CreateDistribution(const SenderKeyName& name) {
    const Name n(name);
    group_session_builder* builder = nullptr;
    EXPECT_EQ(group_session_builder_create(&builder, store_, context_), 0);
    sender_key_distribution_message* message = nullptr;
    EXPECT_EQ(group_session_builder_create_session(builder, &message, &n.value), 0);
    group_session_builder_free(builder);
    Ref<sender_key_distribution_message> owned(message);
    return ToBuf(ciphertext_message_get_serialized(reinterpret_cast<ciphertext_message*>(message)));
  }

  int ProcessDistribution(const SenderKeyName& sender, const Buf& bytes) {
    const Name n(sender);
    sender_key_distribution_message* message = nullptr;
    int result = sender_key_distribution_message_deserialize(&message, bytes.data(), bytes.size(), context_);
    if (result < 0) return result;
    Ref<sender_key_distribution_message> owned(message);
    group_session_builder* builder = nullptr;
    EXPECT_EQ(group_session_builder_create(&builder, store_, context_), 0);
    result = group_session_builder_process_session(builder, &n.value, message);
    group_session_builder_free(builder);
    return result;
  }

  Buf Encrypt(const SenderKeyName& own, const Buf& plaintext) {
    const Name n(own);
    group_cipher* cipher = nullptr;
    EXPECT_EQ(group_cipher_create(&cipher, store_, &n.value, context_), 0);
    ciphertext_message* message = nullptr;
    EXPECT_EQ(group_cipher_encrypt(cipher, plaintext.data(), plaintext.size(), &message), 0);
    group_cipher_free(cipher);
    Ref<ciphertext_message> owned(message);
    return message != nullptr ? ToBuf(ciphertext_message_get_serialized(message)) : Buf{};
  }

  // The plaintext, or the library's error code.
  std::pair<int, Buf> Decrypt(const SenderKeyName& sender, const Buf& bytes) {
    const Name n(sender);
    sender_key_message* message = nullptr;
    int result = sender_key_message_deserialize(&message, bytes.data(), bytes.size(), context_);
    if (result < 0) return {result, {}};
    Ref<sender_key_message> owned(message);
    group_cipher* cipher = nullptr;
    EXPECT_EQ(group_cipher_create(&cipher, store_, &n.value, context_), 0);
    signal_buffer* plaintext = nullptr;
    result = group_cipher_decrypt(cipher, message, nullptr, &plaintext);
    group_cipher_free(cipher);
    BufferPtr owned_plaintext(plaintext);
    return {result, plaintext != nullptr ? ToBuf(plaintext) : Buf{}};
  }

 private:
  // A signal_protocol_sender_key_name viewing a SenderKeyName.
  struct Name {
    explicit Name(const SenderKeyName& name) {
      value.group_id = name.group_id.c_str();
      value.group_id_len = name.group_id.size();
      value.sender.name = name.sender.name.c_str();
      value.sender.name_len = name.sender.name.size();
      value.sender.device_id = static_cast<int32_t>(name.sender.device.value());
    }
    signal_protocol_sender_key_name value{};
  };

  using Records = std::map<std::string, Buf>;

  static std::string Key(const signal_protocol_sender_key_name* name) {
    return std::string(name->group_id, name->group_id_len) + '\0' +
           std::string(name->sender.name, name->sender.name_len) + '\0' +
           std::to_string(name->sender.device_id);
  }
  static int StoreKey(const signal_protocol_sender_key_name* name, uint8_t* record, size_t record_len,
                      uint8_t*, size_t, void* user_data) {
    (*static_cast<Records*>(user_data))[Key(name)] = Buf(record, record + record_len);
    return 0;
  }
  static int LoadKey(signal_buffer** record, signal_buffer** user_record,
                     const signal_protocol_sender_key_name* name, void* user_data) {
    auto& records = *static_cast<Records*>(user_data);
    const auto it = records.find(Key(name));
    *user_record = nullptr;
    if (it == records.end()) return 0;
    *record = signal_buffer_create(it->second.data(), it->second.size());
    return 1;
  }

  DeterministicRng rng_;
  Records records_;
  signal_context* context_ = nullptr;
  signal_protocol_store_context* store_ = nullptr;
};

// ---- the chain and the wire formats ----

TEST(LibsignalSenderKeyTest, ChainAndCipherKeysMatch) {
  Peer peer(1);
  DeterministicRng rng(2);
  for (std::uint32_t start : {0u, 7u, 0x7FFFFFF0u}) {
    SecretArray<kSenderChainKeySize> seed;
    rng.Fill(seed.bytes());
    BufferPtr seed_buffer(signal_buffer_create(seed.data(), seed.size()));
    sender_chain_key* theirs = nullptr;
    ASSERT_EQ(sender_chain_key_create(&theirs, start, seed_buffer.get(), peer.context()), 0);
    Ref<sender_chain_key> their_chain(theirs);
    SenderChainKey ours(start, seed);
    for (int step = 0; step < 20; ++step) {
      ASSERT_EQ(sender_chain_key_get_iteration(their_chain.get()), ours.iteration());
      ASSERT_EQ(ToBuf(sender_chain_key_get_seed(their_chain.get())),
                Buf(ours.key().bytes().begin(), ours.key().bytes().end()));
      sender_message_key* their_message_key = nullptr;
      ASSERT_EQ(sender_chain_key_create_message_key(their_chain.get(), &their_message_key), 0);
      Ref<sender_message_key> their_key(their_message_key);
      const SenderMessageKey our_key = ours.MessageKey();
      const SenderCipherKeys our_cipher = our_key.DeriveCipherKeys();
      EXPECT_EQ(sender_message_key_get_iteration(their_key.get()), our_key.iteration());
      EXPECT_EQ(ToBuf(sender_message_key_get_seed(their_key.get())),
                Buf(our_key.seed().bytes().begin(), our_key.seed().bytes().end()));
      EXPECT_EQ(ToBuf(sender_message_key_get_iv(their_key.get())),
                Buf(our_cipher.iv.bytes().begin(), our_cipher.iv.bytes().end()));
      EXPECT_EQ(ToBuf(sender_message_key_get_cipher_key(their_key.get())),
                Buf(our_cipher.cipher_key.bytes().begin(), our_cipher.cipher_key.bytes().end()));
      sender_chain_key* next = nullptr;
      ASSERT_EQ(sender_chain_key_create_next(their_chain.get(), &next), 0);
      their_chain.reset(next);
      // Advance gives the same message key and next link as the two calls.
      SenderChainKey::Step advanced = ours.Advance();
      EXPECT_EQ(advanced.message_key.iteration(), our_key.iteration());
      EXPECT_EQ(ToHex(advanced.message_key.seed().bytes()), ToHex(our_key.seed().bytes()));
      ours = ours.Next();
      EXPECT_EQ(advanced.next.iteration(), ours.iteration());
      EXPECT_EQ(ToHex(advanced.next.key().bytes()), ToHex(ours.key().bytes()));
    }
  }
}

TEST(LibsignalSenderKeyTest, DistributionMessagesAreByteIdentical) {
  Peer peer(3);
  DeterministicRng rng(4);
  for (std::uint32_t id : {0u, 1u, 300u, 0x7FFFFFFFu, 0xFFFFFFFFu}) {
    const std::uint32_t iteration = id / 3;
    SecretArray<kSenderChainKeySize> chain_key;
    rng.Fill(chain_key.bytes());
    const crypto::PublicKey signing = crypto::KeyPair::Generate(rng).public_key;
    const auto serialized_key = signing.Serialize();
    ec_public_key* their_key = nullptr;
    ASSERT_EQ(curve_decode_point(&their_key, serialized_key.data(), serialized_key.size(), peer.context()),
              0);
    Ref<ec_public_key> owned_key(their_key);
    sender_key_distribution_message* theirs = nullptr;
    ASSERT_EQ(sender_key_distribution_message_create(&theirs, id, iteration, chain_key.data(),
                                                     chain_key.size(), their_key, peer.context()),
              0);
    Ref<sender_key_distribution_message> owned(theirs);
    const Buf their_bytes =
        ToBuf(ciphertext_message_get_serialized(reinterpret_cast<ciphertext_message*>(theirs)));

    const auto ours = SenderKeyDistributionMessage::Create(id, iteration, chain_key, signing);
    EXPECT_EQ(Buf(ours.serialized().begin(), ours.serialized().end()), their_bytes) << id;
    auto parsed = SenderKeyDistributionMessage::Deserialize(their_bytes);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->key_id(), id);
    EXPECT_EQ(parsed->iteration(), iteration);
  }
}

TEST(LibsignalSenderKeyTest, GroupMessagesHaveTheSameBodyAndCrossVerify) {
  Peer peer(5);
  DeterministicRng rng(6);
  const crypto::KeyPair signing = crypto::KeyPair::Generate(rng);
  ec_private_key* their_private = nullptr;
  ASSERT_EQ(
      curve_decode_private_point(&their_private, signing.private_key.bytes().data(), 32, peer.context()), 0);
  Ref<ec_private_key> owned_private(their_private);
  const auto serialized_public = signing.public_key.Serialize();
  ec_public_key* their_public = nullptr;
  ASSERT_EQ(
      curve_decode_point(&their_public, serialized_public.data(), serialized_public.size(), peer.context()),
      0);
  Ref<ec_public_key> owned_public(their_public);

  for (std::size_t size : {0u, 16u, 48u, 300u}) {
    Buf ciphertext(size);
    rng.Fill(ciphertext);
    sender_key_message* theirs = nullptr;
    ASSERT_EQ(sender_key_message_create(&theirs, 0x1234567, 89, ciphertext.data(), ciphertext.size(),
                                        their_private, peer.context()),
              0);
    Ref<sender_key_message> owned(theirs);
    const Buf their_bytes =
        ToBuf(ciphertext_message_get_serialized(reinterpret_cast<ciphertext_message*>(theirs)));
    const auto ours = SenderKeyMessage::Create(0x1234567, 89, ciphertext, signing.private_key, rng);
    ASSERT_EQ(ours.serialized().size(), their_bytes.size());
    const std::size_t body = their_bytes.size() - 64;
    EXPECT_TRUE(std::equal(their_bytes.begin(), their_bytes.begin() + static_cast<std::ptrdiff_t>(body),
                           ours.serialized().begin()));

    // Their signature verifies for us, ours for them.
    auto parsed = SenderKeyMessage::Deserialize(their_bytes);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_TRUE(parsed->VerifySignature(signing.public_key).has_value());
    sender_key_message* parsed_ours = nullptr;
    ASSERT_EQ(sender_key_message_deserialize(&parsed_ours, ours.serialized().data(), ours.serialized().size(),
                                             peer.context()),
              0);
    Ref<sender_key_message> owned_parsed(parsed_ours);
    EXPECT_EQ(sender_key_message_verify_signature(parsed_ours, their_public), 0);
  }
}

// ---- group traffic ----

const SenderKeyName kAlice{"group", ProtocolAddress{"alice", DeviceId(1)}};
const SenderKeyName kBob{"group", ProtocolAddress{"bob", DeviceId(3)}};

std::vector<std::size_t> Shuffled(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  DeterministicRng rng(seed);
  for (std::size_t i = n - 1; i > 0; --i) {
    std::array<std::uint8_t, 4> r{};
    rng.Fill(r);
    const std::uint32_t v =
        (std::uint32_t{r[0]} << 24) | (std::uint32_t{r[1]} << 16) | (std::uint32_t{r[2]} << 8) | r[3];
    std::swap(order[i], order[v % (i + 1)]);
  }
  return order;
}

Buf Text(const std::string& s) { return Buf(s.begin(), s.end()); }

TEST(LibsignalGroupTest, ParleySendsLibsignalReceives) {
  DeterministicRng rng(7);
  InMemorySenderKeyStore alice;
  auto distribution = GroupSessionBuilder(alice, rng).CreateDistribution(kAlice);
  ASSERT_TRUE(distribution.has_value());
  Peer bob(8);
  ASSERT_EQ(bob.ProcessDistribution(
                kAlice, Buf(distribution->serialized().begin(), distribution->serialized().end())),
            0);

  GroupCipher cipher(alice, kAlice, rng);
  std::vector<Buf> plaintexts, ciphertexts;
  for (int i = 0; i < 40; ++i) {
    plaintexts.push_back(Text(std::string(static_cast<std::size_t>(i * 7), 'p') + std::to_string(i)));
    auto ct = cipher.Encrypt(plaintexts.back());
    ASSERT_TRUE(ct.has_value());
    ciphertexts.push_back(*ct);
  }
  for (std::size_t i : Shuffled(ciphertexts.size(), 9)) {
    auto [result, plaintext] = bob.Decrypt(kAlice, ciphertexts[i]);
    ASSERT_EQ(result, 0) << i;
    EXPECT_EQ(plaintext, plaintexts[i]);
  }
  EXPECT_EQ(bob.Decrypt(kAlice, ciphertexts[0]).first, SG_ERR_DUPLICATE_MESSAGE);

  // A thousand ahead is within both libraries' limits.
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(cipher.Encrypt(Text("skipped")).has_value());
  auto far = cipher.Encrypt(Text("a thousand ahead"));
  ASSERT_TRUE(far.has_value());
  auto [result, plaintext] = bob.Decrypt(kAlice, *far);
  ASSERT_EQ(result, 0);
  EXPECT_EQ(plaintext, Text("a thousand ahead"));
}

TEST(LibsignalGroupTest, LibsignalSendsParleyReceives) {
  Peer alice(10);
  const Buf distribution = alice.CreateDistribution(kAlice);
  DeterministicRng rng(11);
  InMemorySenderKeyStore bob;
  auto parsed = SenderKeyDistributionMessage::Deserialize(distribution);
  ASSERT_TRUE(parsed.has_value());
  ASSERT_TRUE(GroupSessionBuilder(bob, rng).Process(kAlice, *parsed).has_value());

  std::vector<Buf> plaintexts, ciphertexts;
  for (int i = 0; i < 40; ++i) {
    plaintexts.push_back(Text(std::string(static_cast<std::size_t>(i * 5), 'q') + std::to_string(i)));
    ciphertexts.push_back(alice.Encrypt(kAlice, plaintexts.back()));
  }
  GroupCipher cipher(bob, kAlice, rng);
  for (std::size_t i : Shuffled(ciphertexts.size(), 12)) {
    auto plaintext = cipher.Decrypt(ciphertexts[i]);
    ASSERT_TRUE(plaintext.has_value()) << i;
    EXPECT_TRUE(std::ranges::equal(plaintext->bytes(), plaintexts[i]));
  }
  auto again = cipher.Decrypt(ciphertexts[3]);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ProtocolErrc::kDuplicateMessage);

  // libsignal's distribution for a chain that has moved on carries its iteration.
  const Buf later = alice.CreateDistribution(kAlice);
  auto later_parsed = SenderKeyDistributionMessage::Deserialize(later);
  ASSERT_TRUE(later_parsed.has_value());
  EXPECT_EQ(later_parsed->iteration(), 40u);
  EXPECT_EQ(later_parsed->key_id(), parsed->key_id());
}

// Both libraries refuse a message whose key id names no chain they hold, once
// a chain from that sender exists: libsignal-protocol-c with
// SG_ERR_INVALID_MESSAGE (its lookup's SG_ERR_INVALID_KEY_ID, remapped),
// Parley with kUnknownSenderKeyId. With no chain at all, both say no session.
TEST(LibsignalGroupTest, UnknownKeyIdAndMissingChainAreReportedAlike) {
  DeterministicRng rng(19);
  InMemorySenderKeyStore alice;
  auto distribution = GroupSessionBuilder(alice, rng).CreateDistribution(kAlice);
  ASSERT_TRUE(distribution.has_value());
  Peer bob(20);
  InMemorySenderKeyStore carol;
  EXPECT_EQ(bob.Decrypt(kAlice, *GroupCipher(alice, kAlice, rng).Encrypt(Text("x"))).first,
            SG_ERR_NO_SESSION);
  auto none = GroupCipher(carol, kAlice, rng).Decrypt(*GroupCipher(alice, kAlice, rng).Encrypt(Text("x")));
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ProtocolErrc::kNoSession);

  ASSERT_EQ(bob.ProcessDistribution(
                kAlice, Buf(distribution->serialized().begin(), distribution->serialized().end())),
            0);
  ASSERT_TRUE(GroupSessionBuilder(carol, rng).Process(kAlice, *distribution).has_value());
  auto own = alice.LoadSenderKey(kAlice);
  ASSERT_TRUE(own.has_value() && own->has_value());
  const SenderKeyState& state = *(*own)->NewestState();
  const auto other_id =
      SenderKeyMessage::Create(state.key_id() ^ 1, 0, Buf(16, 0), *state.signing_private(), rng).serialized();
  EXPECT_EQ(bob.Decrypt(kAlice, other_id).first, SG_ERR_INVALID_MESSAGE);
  auto unknown = GroupCipher(carol, kAlice, rng).Decrypt(other_id);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ProtocolErrc::kUnknownSenderKeyId);
}

TEST(LibsignalGroupTest, BothSendInOneGroup) {
  DeterministicRng rng(13);
  InMemorySenderKeyStore parley_store;
  Peer peer(14);
  auto ours = GroupSessionBuilder(parley_store, rng).CreateDistribution(kAlice);
  ASSERT_TRUE(ours.has_value());
  ASSERT_EQ(peer.ProcessDistribution(kAlice, Buf(ours->serialized().begin(), ours->serialized().end())), 0);
  auto theirs = SenderKeyDistributionMessage::Deserialize(peer.CreateDistribution(kBob));
  ASSERT_TRUE(theirs.has_value());
  ASSERT_TRUE(GroupSessionBuilder(parley_store, rng).Process(kBob, *theirs).has_value());

  for (int round = 0; round < 5; ++round) {
    const Buf from_alice = Text("alice " + std::to_string(round));
    auto ct = GroupCipher(parley_store, kAlice, rng).Encrypt(from_alice);
    ASSERT_TRUE(ct.has_value());
    EXPECT_EQ(peer.Decrypt(kAlice, *ct).second, from_alice);
    const Buf from_bob = Text("bob " + std::to_string(round));
    auto pt = GroupCipher(parley_store, kBob, rng).Decrypt(peer.Encrypt(kBob, from_bob));
    ASSERT_TRUE(pt.has_value());
    EXPECT_TRUE(std::ranges::equal(pt->bytes(), from_bob));
  }
}

// ---- safety numbers ----

struct TheirFingerprint {
  std::string displayable;
  Buf scannable;
};

TheirFingerprint LibsignalFingerprint(Peer& peer, int iterations, int scannable_version,
                                      const std::string& local_id, const crypto::PublicKey& local,
                                      const std::string& remote_id, const crypto::PublicKey& remote) {
  const auto local_bytes = local.Serialize();
  const auto remote_bytes = remote.Serialize();
  ec_public_key* local_key = nullptr;
  ec_public_key* remote_key = nullptr;
  EXPECT_EQ(curve_decode_point(&local_key, local_bytes.data(), local_bytes.size(), peer.context()), 0);
  EXPECT_EQ(curve_decode_point(&remote_key, remote_bytes.data(), remote_bytes.size(), peer.context()), 0);
  Ref<ec_public_key> owned_local(local_key);
  Ref<ec_public_key> owned_remote(remote_key);
  fingerprint_generator* generator = nullptr;
  EXPECT_EQ(fingerprint_generator_create(&generator, iterations, scannable_version, peer.context()), 0);
  fingerprint* result = nullptr;
  EXPECT_EQ(fingerprint_generator_create_for(generator, local_id.c_str(), local_key, remote_id.c_str(),
                                             remote_key, &result),
            0);
  fingerprint_generator_free(generator);
  Ref<fingerprint> owned(result);
  signal_buffer* scannable = nullptr;
  EXPECT_EQ(scannable_fingerprint_serialize(&scannable, fingerprint_get_scannable(result)), 0);
  BufferPtr owned_scannable(scannable);
  return {displayable_fingerprint_text(fingerprint_get_displayable(result)), ToBuf(scannable)};
}

TEST(LibsignalFingerprintTest, DisplayableAndScannableAreIdentical) {
  Peer peer(15);
  DeterministicRng rng(16);
  const std::vector<std::pair<std::string, std::string>> ids = {
      {"+14152222222", "+14153333333"}, {"alice", "bob"}, {"", "x"}, {"8c1a-uuid-ü", "ünïcödé"}};
  for (const auto& [local_id, remote_id] : ids) {
    for (int iterations : {1, 2, 1024, 5200}) {
      const crypto::PublicKey local = crypto::KeyPair::Generate(rng).public_key;
      const crypto::PublicKey remote = crypto::KeyPair::Generate(rng).public_key;
      const TheirFingerprint theirs =
          LibsignalFingerprint(peer, iterations, 1, local_id, local, remote_id, remote);
      auto ours = FingerprintGenerator(static_cast<std::uint32_t>(iterations))
                      .Create(local_id, local, remote_id, remote);
      ASSERT_TRUE(ours.has_value());
      EXPECT_EQ(ours->displayable, theirs.displayable) << local_id << " " << iterations;
      EXPECT_EQ(ours->scannable.Serialize(), theirs.scannable) << local_id << " " << iterations;
    }
  }
}

TEST(LibsignalFingerprintTest, ComparisonAgreesWithLibsignal) {
  Peer peer(17);
  DeterministicRng rng(18);
  const crypto::PublicKey alice = crypto::KeyPair::Generate(rng).public_key;
  const crypto::PublicKey bob = crypto::KeyPair::Generate(rng).public_key;
  const crypto::PublicKey mitm = crypto::KeyPair::Generate(rng).public_key;
  auto ours = FingerprintGenerator(1024).Create("alice", alice, "bob", bob);
  ASSERT_TRUE(ours.has_value());

  auto compare = [&](const Buf& scanned) {
    const Buf mine = ours->scannable.Serialize();
    scannable_fingerprint* a = nullptr;
    scannable_fingerprint* b = nullptr;
    EXPECT_EQ(scannable_fingerprint_deserialize(&a, mine.data(), mine.size(), peer.context()), 0);
    EXPECT_EQ(scannable_fingerprint_deserialize(&b, scanned.data(), scanned.size(), peer.context()), 0);
    Ref<scannable_fingerprint> owned_a(a);
    Ref<scannable_fingerprint> owned_b(b);
    auto parsed = ScannableFingerprint::Deserialize(scanned);
    EXPECT_TRUE(parsed.has_value());
    return std::make_pair(scannable_fingerprint_compare(a, b), ours->scannable.Compare(*parsed));
  };
  const auto match = compare(LibsignalFingerprint(peer, 1024, 1, "bob", bob, "alice", alice).scannable);
  EXPECT_EQ(match.first, 1);
  EXPECT_EQ(match.second, FingerprintMatch::kMatch);
  const auto mismatch = compare(LibsignalFingerprint(peer, 1024, 1, "bob", bob, "alice", mitm).scannable);
  EXPECT_EQ(mismatch.first, 0);
  EXPECT_EQ(mismatch.second, FingerprintMatch::kIdentityMismatch);
  const auto old_version = compare(LibsignalFingerprint(peer, 1024, 0, "bob", bob, "alice", alice).scannable);
  EXPECT_EQ(old_version.first, SG_ERR_FP_VERSION_MISMATCH);
  EXPECT_EQ(old_version.second, FingerprintMatch::kVersionMismatch);
}

}  // namespace
}  // namespace parley::protocol
