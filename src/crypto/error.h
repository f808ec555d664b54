// Errors of the crypto layer.
#pragma once

#include "base/result.h"

namespace parley::crypto {

enum class CryptoErrc {
  kInvalidKey,     // wrong length, wrong type byte, or a key that yields no shared secret
  kDecryptFailed,  // bad padding, bad length, or an authentication tag that does not verify
  kInvalidLength,  // an argument outside what the primitive accepts
};

template <class T>
using CryptoResult = Result<T, CryptoErrc>;

}  // namespace parley::crypto
