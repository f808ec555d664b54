#include "crypto/cipher.h"

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "crypto/fatal_error.h"

namespace parley::crypto {

namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

CipherCtx NewCtx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) FatalCryptoError("EVP_CIPHER_CTX_new failed");
  return ctx;
}

// Fetched once: an implicit fetch on every EVP_*Init costs a provider lookup.
// The fetched ciphers live until exit.
const EVP_CIPHER* FetchOnce(const char* name) {
  EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (cipher == nullptr) FatalCryptoError("EVP_CIPHER_fetch failed");
  return cipher;
}

const EVP_CIPHER* Aes256Cbc() {
  static const EVP_CIPHER* cipher = FetchOnce("AES-256-CBC");
  return cipher;
}
const EVP_CIPHER* Aes256CtrCipher() {
  static const EVP_CIPHER* cipher = FetchOnce("AES-256-CTR");
  return cipher;
}
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = FetchOnce("AES-256-GCM");
  return cipher;
}

// OpenSSL takes lengths as int; inputs past INT_MAX are a caller bug, not
// something a peer can send through Parley's size limits.
int IntLength(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) FatalCryptoError("cipher input longer than INT_MAX");
  return static_cast<int>(n);
}

// OpenSSL accepts a null input pointer only with some providers; an empty
// span may have one.
const unsigned char* NonNull(Bytes b) {
  static constexpr unsigned char kEmpty = 0;
  return b.data() != nullptr ? b.data() : &kEmpty;
}

void Check(int ok, const char* what) {
  if (ok != 1) FatalCryptoError(what);
}

// Checks PKCS#7 padding of a whole-block plaintext without branching on its
// bytes; returns the pad length, or 0 if the padding is bad.
std::size_t Pkcs7PadLength(Bytes plaintext) {
  const std::uint8_t pad = plaintext.back();
  // good stays 0xff while every check passes.
  unsigned good = 0u - static_cast<unsigned>(pad != 0 && pad <= kAesBlockSize);
  for (std::size_t i = 1; i <= kAesBlockSize; ++i) {
    const std::uint8_t byte = plaintext[plaintext.size() - i];
    // Positions inside the pad (i <= pad) must equal pad.
    const unsigned in_pad = 0u - static_cast<unsigned>(i <= pad);
    good &= ~(in_pad & (0u - static_cast<unsigned>(byte != pad)));
  }
  return static_cast<std::size_t>(pad & good & 0xff);
}

// The AES-256-CBC functions of the provider that implements OpenSSL's
// AES-256-CBC (normally the default provider, with AES-NI), called directly.
// Through EVP, every init of a message's key also queries the key and IV
// lengths by parameter name, which costs more than the key schedule and the
// cipher of a 100-byte message together.
struct CbcImplementation {
  void* provider_context = nullptr;
  OSSL_FUNC_cipher_newctx_fn* new_context = nullptr;
  OSSL_FUNC_cipher_freectx_fn* free_context = nullptr;
  OSSL_FUNC_cipher_encrypt_init_fn* encrypt_init = nullptr;
  OSSL_FUNC_cipher_decrypt_init_fn* decrypt_init = nullptr;
  OSSL_FUNC_cipher_update_fn* update = nullptr;
  OSSL_FUNC_cipher_set_ctx_params_fn* set_params = nullptr;
};

// True if the provider's colon-separated name list holds name.
bool NameListHas(std::string_view names, std::string_view name) {
  while (!names.empty()) {
    const std::size_t colon = names.find(':');
    if (names.substr(0, colon) == name) return true;
    if (colon == std::string_view::npos) break;
    names.remove_prefix(colon + 1);
  }
  return false;
}

const CbcImplementation& Cbc() {
  static const CbcImplementation implementation = [] {
    const OSSL_PROVIDER* provider = EVP_CIPHER_get0_provider(Aes256Cbc());
    if (provider == nullptr) FatalCryptoError("AES-256-CBC has no provider");
    int no_store = 0;
    const OSSL_ALGORITHM* algorithms = OSSL_PROVIDER_query_operation(provider, OSSL_OP_CIPHER, &no_store);
    CbcImplementation found;
    for (const OSSL_ALGORITHM* a = algorithms; a != nullptr && a->algorithm_names != nullptr; ++a) {
      if (!NameListHas(a->algorithm_names, "AES-256-CBC")) continue;
      for (const OSSL_DISPATCH* f = a->implementation; f->function_id != 0; ++f) {
        switch (f->function_id) {
          case OSSL_FUNC_CIPHER_NEWCTX:
            found.new_context = OSSL_FUNC_cipher_newctx(f);
            break;
          case OSSL_FUNC_CIPHER_FREECTX:
            found.free_context = OSSL_FUNC_cipher_freectx(f);
            break;
          case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
            found.encrypt_init = OSSL_FUNC_cipher_encrypt_init(f);
            break;
          case OSSL_FUNC_CIPHER_DECRYPT_INIT:
            found.decrypt_init = OSSL_FUNC_cipher_decrypt_init(f);
            break;
          case OSSL_FUNC_CIPHER_UPDATE:
            found.update = OSSL_FUNC_cipher_update(f);
            break;
          case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
            found.set_params = OSSL_FUNC_cipher_set_ctx_params(f);
            break;
          default:
            break;
        }
      }
      break;
    }
    if (algorithms != nullptr) OSSL_PROVIDER_unquery_operation(provider, OSSL_OP_CIPHER, algorithms);
    found.provider_context = OSSL_PROVIDER_get0_provider_ctx(provider);
    if (found.new_context == nullptr || found.free_context == nullptr || found.encrypt_init == nullptr ||
        found.decrypt_init == nullptr || found.update == nullptr || found.set_params == nullptr) {
      FatalCryptoError("the AES-256-CBC provider lacks a cipher function");
    }
    return found;
  }();
  return implementation;
}

// One AES-256-CBC context per thread, made once. Messages are short and each
// has its own key, so making and freeing a context per message (two
// allocations, a provider lookup, parameter parsing) cost more than the
// cipher itself. Padding is Parley's own (PKCS#7, checked in constant time),
// so the context only ever sees whole blocks.
class CbcContext {
 public:
  static CbcContext& ForThisThread() {
    thread_local CbcContext context;
    return context;
  }

  CbcContext(const CbcContext&) = delete;
  CbcContext& operator=(const CbcContext&) = delete;
  // The provider wipes the key schedule when it frees the context.
  ~CbcContext() { Cbc().free_context(context_); }

  // Encrypts or decrypts data (whole blocks) in place, then overwrites the
  // context's key schedule, so that no message key outlives its message.
  void Run(bool encrypt, AesKey key, AesIv iv, std::span<std::uint8_t> data) {
    const CbcImplementation& cbc = Cbc();
    Check((encrypt ? cbc.encrypt_init : cbc.decrypt_init)(context_, key.data(), key.size(), iv.data(),
                                                          iv.size(), nullptr),
          "CBC init failed");
    std::size_t n = 0;
    Check(cbc.update(context_, data.data(), &n, data.size(), data.data(), data.size()), "CBC failed");
    if (n != data.size()) FatalCryptoError("CBC output length mismatch");
    static constexpr std::array<std::uint8_t, kAesKeySize> kNoKey{};
    Check(cbc.encrypt_init(context_, kNoKey.data(), kNoKey.size(), nullptr, 0, nullptr), "CBC reset failed");
  }

 private:
  CbcContext() : context_(Cbc().new_context(Cbc().provider_context)) {
    if (context_ == nullptr) FatalCryptoError("AES-256-CBC context allocation failed");
    unsigned int padding = 0;
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_uint(OSSL_CIPHER_PARAM_PADDING, &padding),
                                 OSSL_PARAM_construct_end()};
    Check(Cbc().set_params(context_, params), "CBC set padding failed");
  }

  void* context_;
};

}  // namespace

std::vector<std::uint8_t> Aes256CbcEncrypt(AesKey key, AesIv iv, Bytes plaintext) {
  const std::size_t pad = kAesBlockSize - plaintext.size() % kAesBlockSize;
  std::vector<std::uint8_t> out(plaintext.size() + pad);
  std::copy(plaintext.begin(), plaintext.end(), out.begin());
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(plaintext.size()), out.end(),
            static_cast<std::uint8_t>(pad));
  CbcContext::ForThisThread().Run(/*encrypt=*/true, key, iv, out);
  return out;
}

CryptoResult<SecretBuffer> Aes256CbcDecrypt(AesKey key, AesIv iv, Bytes ciphertext) {
  if (ciphertext.empty() || ciphertext.size() % kAesBlockSize != 0) {
    return Fail(CryptoErrc::kDecryptFailed, "CBC ciphertext is not a positive number of blocks");
  }
  SecretBuffer out(ciphertext);
  CbcContext::ForThisThread().Run(/*encrypt=*/false, key, iv, out.bytes());
  const std::size_t pad = Pkcs7PadLength(out.bytes());
  if (pad == 0) return Fail(CryptoErrc::kDecryptFailed, "bad CBC padding");
  out.Truncate(out.size() - pad);
  return out;
}

std::vector<std::uint8_t> Aes256Ctr(AesKey key, AesIv iv, Bytes data) {
  if (data.empty()) return {};
  std::vector<std::uint8_t> out(data.size());
  CipherCtx ctx = NewCtx();
  int n = 0, final_n = 0;
  Check(EVP_EncryptInit_ex2(ctx.get(), Aes256CtrCipher(), key.data(), iv.data(), nullptr), "CTR init failed");
  Check(EVP_EncryptUpdate(ctx.get(), out.data(), &n, NonNull(data), IntLength(data.size())), "CTR failed");
  Check(EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &final_n), "CTR final failed");
  if (static_cast<std::size_t>(n) + static_cast<std::size_t>(final_n) != out.size()) {
    FatalCryptoError("CTR output length mismatch");
  }
  return out;
}

std::vector<std::uint8_t> Aes256GcmEncrypt(AesKey key, GcmNonce nonce, Bytes aad, Bytes plaintext) {
  std::vector<std::uint8_t> out(plaintext.size() + kGcmTagSize);
  CipherCtx ctx = NewCtx();
  int n = 0, final_n = 0, aad_n = 0;
  // The default GCM IV length is 12 bytes, the size of GcmNonce.
  Check(EVP_EncryptInit_ex2(ctx.get(), Aes256Gcm(), key.data(), nonce.data(), nullptr), "GCM init failed");
  if (!aad.empty()) {
    Check(EVP_EncryptUpdate(ctx.get(), nullptr, &aad_n, aad.data(), IntLength(aad.size())), "GCM aad failed");
  }
  Check(EVP_EncryptUpdate(ctx.get(), out.data(), &n, NonNull(plaintext), IntLength(plaintext.size())),
        "GCM encrypt failed");
  Check(EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &final_n), "GCM final failed");
  if (static_cast<std::size_t>(n) + static_cast<std::size_t>(final_n) != plaintext.size()) {
    FatalCryptoError("GCM output length mismatch");
  }
  Check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize),
                            out.data() + plaintext.size()),
        "GCM get tag failed");
  return out;
}

CryptoResult<SecretBuffer> Aes256GcmDecrypt(AesKey key, GcmNonce nonce, Bytes aad, Bytes sealed) {
  if (sealed.size() < kGcmTagSize) return Fail(CryptoErrc::kDecryptFailed, "GCM input shorter than its tag");
  const Bytes ciphertext = sealed.first(sealed.size() - kGcmTagSize);
  // OpenSSL's ctrl takes a non-const pointer but only reads the tag.
  std::array<std::uint8_t, kGcmTagSize> tag;
  std::copy(sealed.end() - kGcmTagSize, sealed.end(), tag.begin());

  SecretBuffer out(ciphertext.size());
  CipherCtx ctx = NewCtx();
  int n = 0, final_n = 0, aad_n = 0;
  Check(EVP_DecryptInit_ex2(ctx.get(), Aes256Gcm(), key.data(), nonce.data(), nullptr), "GCM init failed");
  if (!aad.empty()) {
    Check(EVP_DecryptUpdate(ctx.get(), nullptr, &aad_n, aad.data(), IntLength(aad.size())), "GCM aad failed");
  }
  std::uint8_t unused = 0;
  std::uint8_t* const out_ptr = out.empty() ? &unused : out.data();
  Check(EVP_DecryptUpdate(ctx.get(), out_ptr, &n, NonNull(ciphertext), IntLength(ciphertext.size())),
        "GCM decrypt failed");
  Check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize), tag.data()),
        "GCM set tag failed");
  if (EVP_DecryptFinal_ex(ctx.get(), out_ptr + n, &final_n) != 1) {
    out.Wipe();
    return Fail(CryptoErrc::kDecryptFailed, "GCM tag does not verify");
  }
  return out;
}

}  // namespace parley::crypto
