#include "libsignal_party.h"

#include <curve.h>
#include <fingerprint.h>
#include <group_cipher.h>
#include <group_session_builder.h>
#include <key_helper.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <protocol.h>
#include <sender_key_record.h>
#include <session_builder.h>
#include <session_cipher.h>
#include <session_pre_key.h>
#include <session_record.h>
#include <session_state.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <vector>

namespace parley::interop {

struct OpensslAlgorithms {
  EVP_MAC* hmac = nullptr;
  EVP_MD* sha512 = nullptr;
  EVP_CIPHER* cbc[3] = {};  // AES-128, -192, -256
  EVP_CIPHER* ctr[3] = {};

  OpensslAlgorithms() = default;
  OpensslAlgorithms(const OpensslAlgorithms&) = delete;
  OpensslAlgorithms& operator=(const OpensslAlgorithms&) = delete;
  ~OpensslAlgorithms() {
    EVP_MAC_free(hmac);
    EVP_MD_free(sha512);
    for (int i = 0; i < 3; ++i) {
      EVP_CIPHER_free(cbc[i]);
      EVP_CIPHER_free(ctr[i]);
    }
  }
  bool complete() const {
    if (hmac == nullptr || sha512 == nullptr) return false;
    for (int i = 0; i < 3; ++i) {
      if (cbc[i] == nullptr || ctr[i] == nullptr) return false;
    }
    return true;
  }
};

namespace {

// ---------------------------------------------------------------------------
// Crypto provider on OpenSSL 3.

OpensslAlgorithms& Algorithms(void* user_data) { return *static_cast<OpensslAlgorithms*>(user_data); }

int RandomBytes(std::uint8_t* data, std::size_t len, void* /*user_data*/) {
  while (len > 0) {
    const std::size_t chunk = std::min<std::size_t>(len, INT_MAX);
    if (RAND_bytes(data, static_cast<int>(chunk)) != 1) return SG_ERR_UNKNOWN;
    data += chunk;
    len -= chunk;
  }
  return SG_SUCCESS;
}

int HmacSha256Init(void** hmac_context, const std::uint8_t* key, std::size_t key_len, void* user_data) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(Algorithms(user_data).hmac);
  if (ctx == nullptr) return SG_ERR_NOMEM;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  // OpenSSL treats a null key as "keep the previous key"; an empty key must
  // still be a key.
  static const std::uint8_t kEmptyKey = 0;
  if (EVP_MAC_init(ctx, key_len > 0 ? key : &kEmptyKey, key_len, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return SG_ERR_UNKNOWN;
  }
  *hmac_context = ctx;
  return SG_SUCCESS;
}

int HmacSha256Update(void* hmac_context, const std::uint8_t* data, std::size_t data_len,
                     void* /*user_data*/) {
  return EVP_MAC_update(static_cast<EVP_MAC_CTX*>(hmac_context), data, data_len) == 1 ? SG_SUCCESS
                                                                                      : SG_ERR_UNKNOWN;
}

int HmacSha256Final(void* hmac_context, signal_buffer** output, void* /*user_data*/) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  if (EVP_MAC_final(static_cast<EVP_MAC_CTX*>(hmac_context), mac, &mac_len, sizeof(mac)) != 1) {
    return SG_ERR_UNKNOWN;
  }
  *output = signal_buffer_create(mac, mac_len);
  OPENSSL_cleanse(mac, sizeof(mac));
  return *output != nullptr ? SG_SUCCESS : SG_ERR_NOMEM;
}

void HmacSha256Cleanup(void* hmac_context, void* /*user_data*/) {
  EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(hmac_context));
}

int Sha512Init(void** digest_context, void* user_data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return SG_ERR_NOMEM;
  if (EVP_DigestInit_ex2(ctx, Algorithms(user_data).sha512, nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return SG_ERR_UNKNOWN;
  }
  *digest_context = ctx;
  return SG_SUCCESS;
}

int Sha512Update(void* digest_context, const std::uint8_t* data, std::size_t data_len, void* /*user_data*/) {
  return EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(digest_context), data, data_len) == 1 ? SG_SUCCESS
                                                                                         : SG_ERR_UNKNOWN;
}

// The library expects the context to be ready for the next digest afterwards.
int Sha512Final(void* digest_context, signal_buffer** output, void* user_data) {
  auto* ctx = static_cast<EVP_MD_CTX*>(digest_context);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1) return SG_ERR_UNKNOWN;
  if (EVP_DigestInit_ex2(ctx, Algorithms(user_data).sha512, nullptr) != 1) return SG_ERR_UNKNOWN;
  *output = signal_buffer_create(digest, digest_len);
  return *output != nullptr ? SG_SUCCESS : SG_ERR_NOMEM;
}

void Sha512Cleanup(void* digest_context, void* /*user_data*/) {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(digest_context));
}

const EVP_CIPHER* SelectAes(const OpensslAlgorithms& algorithms, int cipher, std::size_t key_len) {
  int index = -1;
  if (key_len == 16) index = 0;
  if (key_len == 24) index = 1;
  if (key_len == 32) index = 2;
  if (index < 0) return nullptr;
  if (cipher == SG_CIPHER_AES_CBC_PKCS5) return algorithms.cbc[index];
  if (cipher == SG_CIPHER_AES_CTR_NOPADDING) return algorithms.ctr[index];
  return nullptr;
}

// CBC pads with PKCS#7 (OpenSSL's default); CTR is a stream mode and has none.
int AesCrypt(int encrypt, signal_buffer** output, int cipher, const std::uint8_t* key, std::size_t key_len,
             const std::uint8_t* iv, std::size_t iv_len, const std::uint8_t* input, std::size_t input_len,
             void* user_data) {
  const EVP_CIPHER* evp_cipher = SelectAes(Algorithms(user_data), cipher, key_len);
  constexpr std::size_t kBlock = 16;
  if (evp_cipher == nullptr || iv_len != kBlock) return SG_ERR_INVAL;
  if (input_len > static_cast<std::size_t>(INT_MAX) - kBlock) return SG_ERR_INVAL;

  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  if (!ctx) return SG_ERR_NOMEM;
  if (EVP_CipherInit_ex2(ctx.get(), evp_cipher, key, iv, encrypt, nullptr) != 1) return SG_ERR_UNKNOWN;

  std::vector<std::uint8_t> out(input_len + kBlock);
  static const std::uint8_t kNoInput = 0;
  int update_len = 0;
  int final_len = 0;
  int result = SG_SUCCESS;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &update_len, input_len > 0 ? input : &kNoInput,
                       static_cast<int>(input_len)) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out.data() + update_len, &final_len) != 1) {
    result = SG_ERR_UNKNOWN;
  } else {
    *output = signal_buffer_create(out.data(), static_cast<std::size_t>(update_len + final_len));
    if (*output == nullptr) result = SG_ERR_NOMEM;
  }
  OPENSSL_cleanse(out.data(), out.size());
  return result;
}

int AesEncrypt(signal_buffer** output, int cipher, const std::uint8_t* key, std::size_t key_len,
               const std::uint8_t* iv, std::size_t iv_len, const std::uint8_t* plaintext,
               std::size_t plaintext_len, void* user_data) {
  return AesCrypt(1, output, cipher, key, key_len, iv, iv_len, plaintext, plaintext_len, user_data);
}

int AesDecrypt(signal_buffer** output, int cipher, const std::uint8_t* key, std::size_t key_len,
               const std::uint8_t* iv, std::size_t iv_len, const std::uint8_t* ciphertext,
               std::size_t ciphertext_len, void* user_data) {
  return AesCrypt(0, output, cipher, key, key_len, iv, iv_len, ciphertext, ciphertext_len, user_data);
}

// ---------------------------------------------------------------------------
// In-memory stores. The callbacks are called from C: no exception may leave.

LibsignalRecords& Records(void* user_data) { return *static_cast<LibsignalRecords*>(user_data); }

std::string NameOf(const signal_protocol_address* address) { return {address->name, address->name_len}; }

template <class F>
int Guarded(F f) noexcept {
  try {
    return f();
  } catch (...) {
    return SG_ERR_NOMEM;
  }
}

int CopyOut(signal_buffer** out, const ByteVec& bytes) {
  *out = signal_buffer_create(bytes.data(), bytes.size());
  return *out != nullptr ? SG_SUCCESS : SG_ERR_NOMEM;
}

int LoadSession(signal_buffer** record, signal_buffer** /*user_record*/,
                const signal_protocol_address* address, void* user_data) {
  return Guarded([&] {
    const auto& sessions = Records(user_data).sessions;
    const auto it = sessions.find({NameOf(address), address->device_id});
    if (it == sessions.end()) return 0;
    const int result = CopyOut(record, it->second);
    return result < 0 ? result : 1;
  });
}

int GetSubDeviceSessions(signal_int_list** sessions, const char* name, std::size_t name_len,
                         void* user_data) {
  return Guarded([&] {
    signal_int_list* list = signal_int_list_alloc();
    if (list == nullptr) return SG_ERR_NOMEM;
    const std::string wanted(name, name_len);
    for (const auto& [key, record] : Records(user_data).sessions) {
      if (key.first == wanted && signal_int_list_push_back(list, key.second) < 0) {
        signal_int_list_free(list);
        return SG_ERR_NOMEM;
      }
    }
    *sessions = list;
    return static_cast<int>(signal_int_list_size(list));
  });
}

int StoreSession(const signal_protocol_address* address, std::uint8_t* record, std::size_t record_len,
                 std::uint8_t* /*user_record*/, std::size_t /*user_record_len*/, void* user_data) {
  return Guarded([&] {
    Records(user_data).sessions[{NameOf(address), address->device_id}] = ByteVec(record, record + record_len);
    return SG_SUCCESS;
  });
}

int ContainsSession(const signal_protocol_address* address, void* user_data) {
  return Guarded([&] {
    return Records(user_data).sessions.count({NameOf(address), address->device_id}) > 0 ? 1 : 0;
  });
}

int DeleteSession(const signal_protocol_address* address, void* user_data) {
  return Guarded([&] {
    return Records(user_data).sessions.erase({NameOf(address), address->device_id}) > 0 ? 1 : 0;
  });
}

int DeleteAllSessions(const char* name, std::size_t name_len, void* user_data) {
  return Guarded([&] {
    const std::string wanted(name, name_len);
    auto& sessions = Records(user_data).sessions;
    int deleted = 0;
    for (auto it = sessions.begin(); it != sessions.end();) {
      if (it->first.first == wanted) {
        it = sessions.erase(it);
        ++deleted;
      } else {
        ++it;
      }
    }
    return deleted;
  });
}

// LibsignalStore owns the records; the library must not free them.
void KeepRecords(void* /*user_data*/) {}

int LoadKey(const std::map<std::uint32_t, ByteVec>& keys, signal_buffer** record, std::uint32_t id) {
  const auto it = keys.find(id);
  if (it == keys.end()) return SG_ERR_INVALID_KEY_ID;
  return CopyOut(record, it->second);
}

int LoadPreKey(signal_buffer** record, std::uint32_t pre_key_id, void* user_data) {
  return Guarded([&] { return LoadKey(Records(user_data).prekeys, record, pre_key_id); });
}

int StorePreKey(std::uint32_t pre_key_id, std::uint8_t* record, std::size_t record_len, void* user_data) {
  return Guarded([&] {
    Records(user_data).prekeys[pre_key_id] = ByteVec(record, record + record_len);
    return SG_SUCCESS;
  });
}

int ContainsPreKey(std::uint32_t pre_key_id, void* user_data) {
  return Records(user_data).prekeys.count(pre_key_id) > 0 ? 1 : 0;
}

int RemovePreKey(std::uint32_t pre_key_id, void* user_data) {
  Records(user_data).prekeys.erase(pre_key_id);
  return SG_SUCCESS;
}

int LoadSignedPreKey(signal_buffer** record, std::uint32_t signed_pre_key_id, void* user_data) {
  return Guarded([&] { return LoadKey(Records(user_data).signed_prekeys, record, signed_pre_key_id); });
}

int StoreSignedPreKey(std::uint32_t signed_pre_key_id, std::uint8_t* record, std::size_t record_len,
                      void* user_data) {
  return Guarded([&] {
    Records(user_data).signed_prekeys[signed_pre_key_id] = ByteVec(record, record + record_len);
    return SG_SUCCESS;
  });
}

int ContainsSignedPreKey(std::uint32_t signed_pre_key_id, void* user_data) {
  return Records(user_data).signed_prekeys.count(signed_pre_key_id) > 0 ? 1 : 0;
}

int RemoveSignedPreKey(std::uint32_t signed_pre_key_id, void* user_data) {
  Records(user_data).signed_prekeys.erase(signed_pre_key_id);
  return SG_SUCCESS;
}

int GetIdentityKeyPair(signal_buffer** public_data, signal_buffer** private_data, void* user_data) {
  const LibsignalRecords& records = Records(user_data);
  int result = CopyOut(public_data, records.identity_public);
  if (result < 0) return result;
  result = CopyOut(private_data, records.identity_private);
  if (result < 0) {
    signal_buffer_free(*public_data);
    *public_data = nullptr;
  }
  return result;
}

int GetLocalRegistrationId(void* user_data, std::uint32_t* registration_id) {
  *registration_id = Records(user_data).registration_id;
  return SG_SUCCESS;
}

// A null key means "forget the key" (the library does this when a prekey
// message from a changed identity fails to decrypt).
int SaveIdentity(const signal_protocol_address* address, std::uint8_t* key_data, std::size_t key_len,
                 void* user_data) {
  return Guarded([&] {
    auto& trusted = Records(user_data).trusted_identities;
    if (key_data == nullptr) {
      trusted.erase(NameOf(address));
    } else {
      trusted[NameOf(address)] = ByteVec(key_data, key_data + key_len);
    }
    return SG_SUCCESS;
  });
}

// Trust on first use: unknown names are trusted, known ones must match.
int IsTrustedIdentity(const signal_protocol_address* address, std::uint8_t* key_data, std::size_t key_len,
                      void* user_data) {
  return Guarded([&] {
    const auto& trusted = Records(user_data).trusted_identities;
    const auto it = trusted.find(NameOf(address));
    if (it == trusted.end()) return 1;
    return it->second.size() == key_len && std::equal(it->second.begin(), it->second.end(), key_data) ? 1 : 0;
  });
}

std::tuple<std::string, std::string, std::int32_t> SenderKeyOf(const signal_protocol_sender_key_name* name) {
  return {std::string(name->group_id, name->group_id_len), NameOf(&name->sender), name->sender.device_id};
}

int StoreSenderKey(const signal_protocol_sender_key_name* sender_key_name, std::uint8_t* record,
                   std::size_t record_len, std::uint8_t* /*user_record*/, std::size_t /*user_record_len*/,
                   void* user_data) {
  return Guarded([&] {
    Records(user_data).sender_keys[SenderKeyOf(sender_key_name)] = ByteVec(record, record + record_len);
    return SG_SUCCESS;
  });
}

int LoadSenderKey(signal_buffer** record, signal_buffer** /*user_record*/,
                  const signal_protocol_sender_key_name* sender_key_name, void* user_data) {
  return Guarded([&] {
    const auto& keys = Records(user_data).sender_keys;
    const auto it = keys.find(SenderKeyOf(sender_key_name));
    if (it == keys.end()) return 0;
    const int result = CopyOut(record, it->second);
    return result < 0 ? result : 1;
  });
}

// ---------------------------------------------------------------------------
// Ownership of library objects.

template <class T>
struct SignalUnref {
  void operator()(T* object) const { signal_type_unref(reinterpret_cast<signal_type_base*>(object)); }
};
template <class T>
using SignalPtr = std::unique_ptr<T, SignalUnref<T>>;

struct BufferFree {
  void operator()(signal_buffer* buffer) const { signal_buffer_bzero_free(buffer); }
};
using BufferPtr = std::unique_ptr<signal_buffer, BufferFree>;

struct SessionCipherFree {
  void operator()(session_cipher* cipher) const { session_cipher_free(cipher); }
};
struct SessionBuilderFree {
  void operator()(session_builder* builder) const { session_builder_free(builder); }
};
struct GroupCipherFree {
  void operator()(group_cipher* cipher) const { group_cipher_free(cipher); }
};
struct GroupSessionBuilderFree {
  void operator()(group_session_builder* builder) const { group_session_builder_free(builder); }
};
struct FingerprintGeneratorFree {
  void operator()(fingerprint_generator* generator) const { fingerprint_generator_free(generator); }
};

ByteVec ToBytes(const signal_buffer* buffer) {
  const std::uint8_t* data = signal_buffer_const_data(buffer);
  return ByteVec(data, data + signal_buffer_len(buffer));
}

// Never hands the library a null pointer, even for empty input.
const std::uint8_t* DataOf(const ByteVec& bytes) {
  static const std::uint8_t kEmpty = 0;
  return bytes.empty() ? &kEmpty : bytes.data();
}

std::optional<ByteVec> SerializePublic(const ec_public_key* key) {
  signal_buffer* raw = nullptr;
  if (ec_public_key_serialize(&raw, key) < 0) return std::nullopt;
  BufferPtr buffer(raw);
  return ToBytes(buffer.get());
}

SignalPtr<ec_public_key> DecodePublic(const ByteVec& bytes, signal_context* context) {
  ec_public_key* key = nullptr;
  if (curve_decode_point(&key, DataOf(bytes), bytes.size(), context) < 0) return nullptr;
  return SignalPtr<ec_public_key>(key);
}

// ---------------------------------------------------------------------------
// Outcomes and error codes of the interop contract.

constexpr std::uint32_t kMaxPreKeyId = 0xFFFFFF;  // 24-bit ids
constexpr std::uint32_t kMaxRegistrationId = 16380;

template <class T>
Outcome<T> Success(T value) {
  Outcome<T> outcome;
  outcome.value = std::move(value);
  return outcome;
}

template <class T>
Outcome<T> Failure(std::string code) {
  Outcome<T> outcome;
  outcome.error = std::move(code);
  return outcome;
}

// For reading or decrypting a message. A bad key inside a message, a bad MAC
// or signature, an unknown version and a bad protobuf are all
// "invalid_message"; so is any failure the contract has no code for.
std::string MessageError(int code) {
  switch (code) {
    case SG_ERR_DUPLICATE_MESSAGE:
      return "duplicate_message";
    case SG_ERR_NO_SESSION:
      return "no_session";
    case SG_ERR_INVALID_KEY_ID:
      return "invalid_key_id";
    case SG_ERR_UNTRUSTED_IDENTITY:
      return "untrusted_identity";
    default:
      return "invalid_message";
  }
}

// For processing a bundle: the library reports a bad signature as
// SG_ERR_INVALID_KEY and a signature it cannot parse as SG_ERR_INVAL.
std::string BundleError(int code) {
  switch (code) {
    case SG_ERR_UNTRUSTED_IDENTITY:
      return "untrusted_identity";
    case SG_ERR_INVALID_KEY:
    case SG_ERR_INVAL:
      return "invalid_key";
    default:
      return MessageError(code);
  }
}

bool ValidAddress(const Address& address) { return !address.name.empty() && address.device >= 1; }

signal_protocol_address RawAddress(const Address& address) {
  return {address.name.c_str(), address.name.size(), address.device};
}

signal_protocol_sender_key_name RawSenderKeyName(const std::string& group, const Address& sender) {
  return {group.c_str(), group.size(), RawAddress(sender)};
}

std::uint64_t NowMillis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

// ---------------------------------------------------------------------------
// LibsignalContext

std::unique_ptr<LibsignalContext> LibsignalContext::Create() {
  std::unique_ptr<LibsignalContext> context(new LibsignalContext());
  auto algorithms = std::make_unique<OpensslAlgorithms>();
  algorithms->hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  algorithms->sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  const char* const cbc_names[3] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
  const char* const ctr_names[3] = {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"};
  for (int i = 0; i < 3; ++i) {
    algorithms->cbc[i] = EVP_CIPHER_fetch(nullptr, cbc_names[i], nullptr);
    algorithms->ctr[i] = EVP_CIPHER_fetch(nullptr, ctr_names[i], nullptr);
  }
  if (!algorithms->complete()) return nullptr;
  context->algorithms_ = std::move(algorithms);

  if (signal_context_create(&context->context_, context.get()) < 0) return nullptr;
  context->provider_ = signal_crypto_provider{
      .random_func = RandomBytes,
      .hmac_sha256_init_func = HmacSha256Init,
      .hmac_sha256_update_func = HmacSha256Update,
      .hmac_sha256_final_func = HmacSha256Final,
      .hmac_sha256_cleanup_func = HmacSha256Cleanup,
      .sha512_digest_init_func = Sha512Init,
      .sha512_digest_update_func = Sha512Update,
      .sha512_digest_final_func = Sha512Final,
      .sha512_digest_cleanup_func = Sha512Cleanup,
      .encrypt_func = AesEncrypt,
      .decrypt_func = AesDecrypt,
      .user_data = context->algorithms_.get(),
  };
  if (signal_context_set_crypto_provider(context->context_, &context->provider_) < 0 ||
      signal_context_set_locking_functions(context->context_, &LibsignalContext::Lock,
                                           &LibsignalContext::Unlock) < 0) {
    return nullptr;
  }
  return context;
}

LibsignalContext::LibsignalContext() = default;

LibsignalContext::~LibsignalContext() {
  if (context_ != nullptr) signal_context_destroy(context_);
}

void LibsignalContext::Lock(void* user_data) { static_cast<LibsignalContext*>(user_data)->mutex_.lock(); }

void LibsignalContext::Unlock(void* user_data) { static_cast<LibsignalContext*>(user_data)->mutex_.unlock(); }

// ---------------------------------------------------------------------------
// LibsignalStore

std::unique_ptr<LibsignalStore> LibsignalStore::Create(LibsignalContext& context,
                                                       std::uint32_t registration_id) {
  std::unique_ptr<LibsignalStore> store(new LibsignalStore());
  LibsignalRecords& records = store->records_;
  records.registration_id = registration_id;

  ratchet_identity_key_pair* raw_pair = nullptr;
  if (signal_protocol_key_helper_generate_identity_key_pair(&raw_pair, context.get()) < 0) return nullptr;
  SignalPtr<ratchet_identity_key_pair> pair(raw_pair);
  signal_buffer* raw_public = nullptr;
  if (ec_public_key_serialize(&raw_public, ratchet_identity_key_pair_get_public(pair.get())) < 0)
    return nullptr;
  BufferPtr public_buffer(raw_public);
  signal_buffer* raw_private = nullptr;
  if (ec_private_key_serialize(&raw_private, ratchet_identity_key_pair_get_private(pair.get())) < 0) {
    return nullptr;
  }
  BufferPtr private_buffer(raw_private);
  records.identity_public = ToBytes(public_buffer.get());
  records.identity_private = ToBytes(private_buffer.get());

  if (signal_protocol_store_context_create(&store->store_, context.get()) < 0) return nullptr;
  void* user_data = &records;
  const signal_protocol_session_store sessions{
      .load_session_func = LoadSession,
      .get_sub_device_sessions_func = GetSubDeviceSessions,
      .store_session_func = StoreSession,
      .contains_session_func = ContainsSession,
      .delete_session_func = DeleteSession,
      .delete_all_sessions_func = DeleteAllSessions,
      .destroy_func = KeepRecords,
      .user_data = user_data,
  };
  const signal_protocol_pre_key_store prekeys{
      .load_pre_key = LoadPreKey,
      .store_pre_key = StorePreKey,
      .contains_pre_key = ContainsPreKey,
      .remove_pre_key = RemovePreKey,
      .destroy_func = KeepRecords,
      .user_data = user_data,
  };
  const signal_protocol_signed_pre_key_store signed_prekeys{
      .load_signed_pre_key = LoadSignedPreKey,
      .store_signed_pre_key = StoreSignedPreKey,
      .contains_signed_pre_key = ContainsSignedPreKey,
      .remove_signed_pre_key = RemoveSignedPreKey,
      .destroy_func = KeepRecords,
      .user_data = user_data,
  };
  const signal_protocol_identity_key_store identities{
      .get_identity_key_pair = GetIdentityKeyPair,
      .get_local_registration_id = GetLocalRegistrationId,
      .save_identity = SaveIdentity,
      .is_trusted_identity = IsTrustedIdentity,
      .destroy_func = KeepRecords,
      .user_data = user_data,
  };
  const signal_protocol_sender_key_store sender_keys{
      .store_sender_key = StoreSenderKey,
      .load_sender_key = LoadSenderKey,
      .destroy_func = KeepRecords,
      .user_data = user_data,
  };
  if (signal_protocol_store_context_set_session_store(store->store_, &sessions) < 0 ||
      signal_protocol_store_context_set_pre_key_store(store->store_, &prekeys) < 0 ||
      signal_protocol_store_context_set_signed_pre_key_store(store->store_, &signed_prekeys) < 0 ||
      signal_protocol_store_context_set_identity_key_store(store->store_, &identities) < 0 ||
      signal_protocol_store_context_set_sender_key_store(store->store_, &sender_keys) < 0) {
    return nullptr;
  }
  return store;
}

LibsignalStore::~LibsignalStore() {
  if (store_ != nullptr) signal_protocol_store_context_destroy(store_);
}

// ---------------------------------------------------------------------------
// LibsignalParty

Outcome<std::unique_ptr<LibsignalParty>> LibsignalParty::Create(const std::string& name,
                                                                std::uint32_t registration_id,
                                                                std::int32_t device) {
  using Result = std::unique_ptr<LibsignalParty>;
  if (name.empty() || registration_id < 1 || registration_id > kMaxRegistrationId || device < 1) {
    return Failure<Result>("bad_request");
  }
  auto context = LibsignalContext::Create();
  if (!context) return Failure<Result>("invalid_message");
  auto store = LibsignalStore::Create(*context, registration_id);
  if (!store) return Failure<Result>("invalid_message");
  return Success(Result(new LibsignalParty(name, device, std::move(context), std::move(store))));
}

LibsignalParty::LibsignalParty(std::string name, std::int32_t device,
                               std::unique_ptr<LibsignalContext> context,
                               std::unique_ptr<LibsignalStore> store)
    : name_(std::move(name)), device_(device), context_(std::move(context)), store_(std::move(store)) {}

template <class T, class Operation>
Outcome<T> LibsignalParty::AllOrNothing(Operation operation) {
  LibsignalRecords before = store_->records();
  Outcome<T> outcome = operation();
  if (!outcome.ok()) store_->records() = std::move(before);
  return outcome;
}

ByteVec LibsignalParty::IdentityKey() { return store_->records().identity_public; }

Outcome<Bundle> LibsignalParty::MakeBundle(std::uint32_t signed_prekey_id,
                                           std::optional<std::uint32_t> prekey_id) {
  return AllOrNothing<Bundle>([&] { return MakeBundleNow(signed_prekey_id, prekey_id); });
}

Outcome<Bundle> LibsignalParty::MakeBundleNow(std::uint32_t signed_prekey_id,
                                              std::optional<std::uint32_t> prekey_id) {
  if (signed_prekey_id > kMaxPreKeyId || (prekey_id && (*prekey_id < 1 || *prekey_id > kMaxPreKeyId))) {
    return Failure<Bundle>("bad_request");
  }
  signal_context* context = context_->get();
  signal_protocol_store_context* store = store_->get();

  session_signed_pre_key* raw_signed = nullptr;
  if (signal_protocol_signed_pre_key_contains_key(store, signed_prekey_id) == 1) {
    if (signal_protocol_signed_pre_key_load_key(store, &raw_signed, signed_prekey_id) < 0) {
      return Failure<Bundle>("invalid_message");
    }
  } else {
    ratchet_identity_key_pair* raw_identity = nullptr;
    if (signal_protocol_identity_get_key_pair(store, &raw_identity) < 0)
      return Failure<Bundle>("invalid_message");
    SignalPtr<ratchet_identity_key_pair> identity(raw_identity);
    if (signal_protocol_key_helper_generate_signed_pre_key(&raw_signed, identity.get(), signed_prekey_id,
                                                           NowMillis(), context) < 0) {
      return Failure<Bundle>("invalid_message");
    }
  }
  SignalPtr<session_signed_pre_key> signed_prekey(raw_signed);
  if (signal_protocol_signed_pre_key_store_key(store, signed_prekey.get()) < 0) {
    return Failure<Bundle>("invalid_message");
  }

  Bundle bundle;
  bundle.registration_id = store_->records().registration_id;
  bundle.device = device_;
  bundle.identity_key = store_->records().identity_public;
  bundle.signed_prekey_id = signed_prekey_id;
  auto signed_public =
      SerializePublic(ec_key_pair_get_public(session_signed_pre_key_get_key_pair(signed_prekey.get())));
  if (!signed_public) return Failure<Bundle>("invalid_message");
  bundle.signed_prekey = std::move(*signed_public);
  const std::uint8_t* signature = session_signed_pre_key_get_signature(signed_prekey.get());
  bundle.signed_prekey_signature.assign(
      signature, signature + session_signed_pre_key_get_signature_len(signed_prekey.get()));

  if (prekey_id) {
    session_pre_key* raw_prekey = nullptr;
    if (signal_protocol_pre_key_contains_key(store, *prekey_id) == 1) {
      if (signal_protocol_pre_key_load_key(store, &raw_prekey, *prekey_id) < 0) {
        return Failure<Bundle>("invalid_message");
      }
    } else {
      ec_key_pair* raw_pair = nullptr;
      if (curve_generate_key_pair(context, &raw_pair) < 0) return Failure<Bundle>("invalid_message");
      SignalPtr<ec_key_pair> pair(raw_pair);
      if (session_pre_key_create(&raw_prekey, *prekey_id, pair.get()) < 0)
        return Failure<Bundle>("invalid_message");
    }
    SignalPtr<session_pre_key> prekey(raw_prekey);
    if (signal_protocol_pre_key_store_key(store, prekey.get()) < 0) return Failure<Bundle>("invalid_message");
    auto prekey_public = SerializePublic(ec_key_pair_get_public(session_pre_key_get_key_pair(prekey.get())));
    if (!prekey_public) return Failure<Bundle>("invalid_message");
    bundle.prekey_id = *prekey_id;
    bundle.prekey = std::move(*prekey_public);
  }
  return Success(std::move(bundle));
}

Outcome<Done> LibsignalParty::StartSession(const Address& peer, const Bundle& bundle) {
  return AllOrNothing<Done>([&] { return StartSessionNow(peer, bundle); });
}

Outcome<Done> LibsignalParty::StartSessionNow(const Address& peer, const Bundle& bundle) {
  if (!ValidAddress(peer) || bundle.prekey_id.has_value() != bundle.prekey.has_value()) {
    return Failure<Done>("bad_request");
  }
  signal_context* context = context_->get();
  auto identity_key = DecodePublic(bundle.identity_key, context);
  auto signed_prekey = DecodePublic(bundle.signed_prekey, context);
  SignalPtr<ec_public_key> prekey;
  if (bundle.prekey) {
    prekey = DecodePublic(*bundle.prekey, context);
    if (!prekey) return Failure<Done>("invalid_key");
  }
  if (!identity_key || !signed_prekey || bundle.signed_prekey_signature.empty()) {
    return Failure<Done>("invalid_key");
  }

  session_pre_key_bundle* raw_bundle = nullptr;
  int result = session_pre_key_bundle_create(
      &raw_bundle, bundle.registration_id, bundle.device, bundle.prekey_id.value_or(0), prekey.get(),
      bundle.signed_prekey_id, signed_prekey.get(), bundle.signed_prekey_signature.data(),
      bundle.signed_prekey_signature.size(), identity_key.get());
  if (result < 0) return Failure<Done>(BundleError(result));
  SignalPtr<session_pre_key_bundle> libsignal_bundle(raw_bundle);

  const signal_protocol_address address = RawAddress(peer);
  session_builder* raw_builder = nullptr;
  result = session_builder_create(&raw_builder, store_->get(), &address, context);
  if (result < 0) return Failure<Done>(BundleError(result));
  std::unique_ptr<session_builder, SessionBuilderFree> builder(raw_builder);
  result = session_builder_process_pre_key_bundle(builder.get(), libsignal_bundle.get());
  if (result < 0) return Failure<Done>(BundleError(result));
  return Success(Done{});
}

Outcome<Ciphertext> LibsignalParty::Encrypt(const Address& peer, const ByteVec& plaintext) {
  return AllOrNothing<Ciphertext>([&] { return EncryptNow(peer, plaintext); });
}

Outcome<Ciphertext> LibsignalParty::EncryptNow(const Address& peer, const ByteVec& plaintext) {
  if (!ValidAddress(peer)) return Failure<Ciphertext>("bad_request");
  // Without a session the library would encrypt with a blank state.
  if (!HasSession(peer)) return Failure<Ciphertext>("no_session");
  const signal_protocol_address address = RawAddress(peer);
  session_cipher* raw_cipher = nullptr;
  int result = session_cipher_create(&raw_cipher, store_->get(), &address, context_->get());
  if (result < 0) return Failure<Ciphertext>(MessageError(result));
  std::unique_ptr<session_cipher, SessionCipherFree> cipher(raw_cipher);
  ciphertext_message* raw_message = nullptr;
  result = session_cipher_encrypt(cipher.get(), DataOf(plaintext), plaintext.size(), &raw_message);
  if (result < 0) return Failure<Ciphertext>(MessageError(result));
  SignalPtr<ciphertext_message> message(raw_message);
  Ciphertext ciphertext;
  ciphertext.type = ciphertext_message_get_type(message.get()) == CIPHERTEXT_PREKEY_TYPE
                        ? MessageType::kPreKey
                        : MessageType::kMessage;
  ciphertext.bytes = ToBytes(ciphertext_message_get_serialized(message.get()));
  return Success(std::move(ciphertext));
}

Outcome<ByteVec> LibsignalParty::Decrypt(const Address& peer, const Ciphertext& message) {
  return AllOrNothing<ByteVec>([&] { return DecryptNow(peer, message); });
}

Outcome<ByteVec> LibsignalParty::DecryptNow(const Address& peer, const Ciphertext& message) {
  if (!ValidAddress(peer)) return Failure<ByteVec>("bad_request");
  signal_context* context = context_->get();
  const signal_protocol_address address = RawAddress(peer);
  session_cipher* raw_cipher = nullptr;
  int result = session_cipher_create(&raw_cipher, store_->get(), &address, context);
  if (result < 0) return Failure<ByteVec>(MessageError(result));
  std::unique_ptr<session_cipher, SessionCipherFree> cipher(raw_cipher);

  signal_buffer* raw_plaintext = nullptr;
  if (message.type == MessageType::kPreKey) {
    pre_key_signal_message* raw_message = nullptr;
    // Any failure to parse, a bad key inside included, is an invalid message.
    if (pre_key_signal_message_deserialize(&raw_message, DataOf(message.bytes), message.bytes.size(),
                                           context) < 0) {
      return Failure<ByteVec>("invalid_message");
    }
    SignalPtr<pre_key_signal_message> prekey_message(raw_message);
    result = session_cipher_decrypt_pre_key_signal_message(cipher.get(), prekey_message.get(), nullptr,
                                                           &raw_plaintext);
  } else {
    signal_message* raw_message = nullptr;
    if (signal_message_deserialize(&raw_message, DataOf(message.bytes), message.bytes.size(), context) < 0) {
      return Failure<ByteVec>("invalid_message");
    }
    SignalPtr<signal_message> signal_msg(raw_message);
    result = session_cipher_decrypt_signal_message(cipher.get(), signal_msg.get(), nullptr, &raw_plaintext);
  }
  if (result < 0) return Failure<ByteVec>(MessageError(result));
  BufferPtr plaintext(raw_plaintext);
  return Success(ToBytes(plaintext.get()));
}

bool LibsignalParty::HasSession(const Address& peer) {
  if (!ValidAddress(peer)) return false;
  const signal_protocol_address address = RawAddress(peer);
  if (signal_protocol_session_contains_session(store_->get(), &address) != 1) return false;
  session_record* raw_record = nullptr;
  if (signal_protocol_session_load_session(store_->get(), &raw_record, &address) < 0) return false;
  SignalPtr<session_record> record(raw_record);
  session_state* state = session_record_get_state(record.get());
  return state != nullptr && session_state_has_sender_chain(state) == 1;
}

Outcome<Done> LibsignalParty::Trust(const Address& peer, const ByteVec& identity_key) {
  if (!ValidAddress(peer)) return Failure<Done>("bad_request");
  auto key = DecodePublic(identity_key, context_->get());
  if (!key) return Failure<Done>("invalid_key");
  const signal_protocol_address address = RawAddress(peer);
  const int result = signal_protocol_identity_save_identity(store_->get(), &address, key.get());
  if (result < 0) return Failure<Done>(MessageError(result));
  return Success(Done{});
}

Outcome<Fingerprint> LibsignalParty::MakeFingerprint(const std::string& local_id, const std::string& peer_id,
                                                     const ByteVec& peer_identity_key,
                                                     std::uint32_t iterations) {
  return ComputeFingerprint(local_id, IdentityKey(), peer_id, peer_identity_key, iterations);
}

Outcome<Fingerprint> LibsignalParty::ComputeFingerprint(const std::string& local_id,
                                                        const ByteVec& local_identity_key,
                                                        const std::string& peer_id,
                                                        const ByteVec& peer_identity_key,
                                                        std::uint32_t iterations) {
  // The library takes C strings.
  if (iterations == 0 || iterations > static_cast<std::uint32_t>(INT_MAX) ||
      local_id.find('\0') != std::string::npos || peer_id.find('\0') != std::string::npos) {
    return Failure<Fingerprint>("bad_request");
  }
  auto context = LibsignalContext::Create();
  if (!context) return Failure<Fingerprint>("invalid_message");
  auto local_key = DecodePublic(local_identity_key, context->get());
  auto peer_key = DecodePublic(peer_identity_key, context->get());
  if (!local_key || !peer_key) return Failure<Fingerprint>("invalid_key");

  constexpr int kScannableVersion = 1;
  fingerprint_generator* raw_generator = nullptr;
  if (fingerprint_generator_create(&raw_generator, static_cast<int>(iterations), kScannableVersion,
                                   context->get()) < 0) {
    return Failure<Fingerprint>("invalid_message");
  }
  std::unique_ptr<fingerprint_generator, FingerprintGeneratorFree> generator(raw_generator);
  fingerprint* raw_fingerprint = nullptr;
  if (fingerprint_generator_create_for(generator.get(), local_id.c_str(), local_key.get(), peer_id.c_str(),
                                       peer_key.get(), &raw_fingerprint) < 0) {
    return Failure<Fingerprint>("invalid_message");
  }
  SignalPtr<fingerprint> libsignal_fingerprint(raw_fingerprint);
  signal_buffer* raw_scannable = nullptr;
  if (scannable_fingerprint_serialize(&raw_scannable,
                                      fingerprint_get_scannable(libsignal_fingerprint.get())) < 0) {
    return Failure<Fingerprint>("invalid_message");
  }
  BufferPtr scannable(raw_scannable);
  Fingerprint result;
  result.displayable = displayable_fingerprint_text(fingerprint_get_displayable(libsignal_fingerprint.get()));
  result.scannable = ToBytes(scannable.get());
  return Success(std::move(result));
}

Outcome<ByteVec> LibsignalParty::GroupCreate(const std::string& group) {
  return AllOrNothing<ByteVec>([&] { return GroupCreateNow(group); });
}

Outcome<ByteVec> LibsignalParty::GroupCreateNow(const std::string& group) {
  const Address self = address();
  const signal_protocol_sender_key_name name = RawSenderKeyName(group, self);
  group_session_builder* raw_builder = nullptr;
  int result = group_session_builder_create(&raw_builder, store_->get(), context_->get());
  if (result < 0) return Failure<ByteVec>(MessageError(result));
  std::unique_ptr<group_session_builder, GroupSessionBuilderFree> builder(raw_builder);
  sender_key_distribution_message* raw_distribution = nullptr;
  result = group_session_builder_create_session(builder.get(), &raw_distribution, &name);
  if (result < 0) return Failure<ByteVec>(MessageError(result));
  SignalPtr<sender_key_distribution_message> distribution(raw_distribution);
  return Success(ToBytes(
      ciphertext_message_get_serialized(reinterpret_cast<const ciphertext_message*>(distribution.get()))));
}

Outcome<Done> LibsignalParty::GroupAccept(const std::string& group, const Address& sender,
                                          const ByteVec& distribution) {
  return AllOrNothing<Done>([&] { return GroupAcceptNow(group, sender, distribution); });
}

Outcome<Done> LibsignalParty::GroupAcceptNow(const std::string& group, const Address& sender,
                                             const ByteVec& distribution) {
  // Accepting under our own address would replace our signing key with a
  // receive-only state.
  if (!ValidAddress(sender) || (sender.name == name_ && sender.device == device_)) {
    return Failure<Done>("bad_request");
  }
  signal_context* context = context_->get();
  sender_key_distribution_message* raw_distribution = nullptr;
  if (sender_key_distribution_message_deserialize(&raw_distribution, DataOf(distribution),
                                                  distribution.size(), context) < 0) {
    return Failure<Done>("invalid_message");
  }
  SignalPtr<sender_key_distribution_message> libsignal_distribution(raw_distribution);
  const signal_protocol_sender_key_name name = RawSenderKeyName(group, sender);
  group_session_builder* raw_builder = nullptr;
  int result = group_session_builder_create(&raw_builder, store_->get(), context);
  if (result < 0) return Failure<Done>(MessageError(result));
  std::unique_ptr<group_session_builder, GroupSessionBuilderFree> builder(raw_builder);
  result = group_session_builder_process_session(builder.get(), &name, libsignal_distribution.get());
  if (result < 0) return Failure<Done>(MessageError(result));
  return Success(Done{});
}

Outcome<ByteVec> LibsignalParty::GroupEncrypt(const std::string& group, const ByteVec& plaintext) {
  return AllOrNothing<ByteVec>([&] { return GroupEncryptNow(group, plaintext); });
}

Outcome<ByteVec> LibsignalParty::GroupEncryptNow(const std::string& group, const ByteVec& plaintext) {
  const Address self = address();
  const signal_protocol_sender_key_name name = RawSenderKeyName(group, self);
  group_cipher* raw_cipher = nullptr;
  int result = group_cipher_create(&raw_cipher, store_->get(), &name, context_->get());
  if (result < 0) return Failure<ByteVec>(MessageError(result));
  std::unique_ptr<group_cipher, GroupCipherFree> cipher(raw_cipher);
  ciphertext_message* raw_message = nullptr;
  // Before GroupCreate the library reports SG_ERR_NO_SESSION.
  result = group_cipher_encrypt(cipher.get(), DataOf(plaintext), plaintext.size(), &raw_message);
  if (result < 0) return Failure<ByteVec>(MessageError(result));
  SignalPtr<ciphertext_message> message(raw_message);
  return Success(ToBytes(ciphertext_message_get_serialized(message.get())));
}

Outcome<ByteVec> LibsignalParty::GroupDecrypt(const std::string& group, const Address& sender,
                                              const ByteVec& ciphertext) {
  return AllOrNothing<ByteVec>([&] { return GroupDecryptNow(group, sender, ciphertext); });
}

Outcome<ByteVec> LibsignalParty::GroupDecryptNow(const std::string& group, const Address& sender,
                                                 const ByteVec& ciphertext) {
  if (!ValidAddress(sender)) return Failure<ByteVec>("bad_request");
  signal_context* context = context_->get();
  sender_key_message* raw_message = nullptr;
  if (sender_key_message_deserialize(&raw_message, DataOf(ciphertext), ciphertext.size(), context) < 0) {
    return Failure<ByteVec>("invalid_message");
  }
  SignalPtr<sender_key_message> message(raw_message);
  const signal_protocol_sender_key_name name = RawSenderKeyName(group, sender);
  group_cipher* raw_cipher = nullptr;
  int result = group_cipher_create(&raw_cipher, store_->get(), &name, context);
  if (result < 0) return Failure<ByteVec>(MessageError(result));
  std::unique_ptr<group_cipher, GroupCipherFree> cipher(raw_cipher);
  signal_buffer* raw_plaintext = nullptr;
  // A sender whose distribution was never accepted has an empty record, which
  // the library reports as SG_ERR_NO_SESSION.
  result = group_cipher_decrypt(cipher.get(), message.get(), nullptr, &raw_plaintext);
  if (result < 0) return Failure<ByteVec>(MessageError(result));
  BufferPtr plaintext(raw_plaintext);
  return Success(ToBytes(plaintext.get()));
}

}  // namespace parley::interop
