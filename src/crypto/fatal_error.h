// The crypto layer's last resort for failures that input cannot cause.
//
// Some library calls fail only when memory runs out or an internal invariant
// breaks (an OpenSSL context that cannot be allocated, libsodium that cannot
// initialize). Functions whose result cannot carry an error stop the process
// then rather than return wrong bytes. Never called for anything a peer sends.
#pragma once

namespace parley::crypto {

// Writes what failed to stderr and aborts.
[[noreturn]] void FatalCryptoError(const char* what) noexcept;

}  // namespace parley::crypto
