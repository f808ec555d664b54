// Early return on failure, for code that chains many store Results.
// Internal to the store layer's sources; never included from a public header.
#pragma once

#include <tl/expected.hpp>

#define PARLEY_STORE_CONCAT_INNER(a, b) a##b
#define PARLEY_STORE_CONCAT(a, b) PARLEY_STORE_CONCAT_INNER(a, b)

// Evaluates a StoreStatus (or any Result) and returns its error if it failed.
#define PARLEY_STORE_TRY(expr)                                     \
  do {                                                             \
    if (auto parley_store_status = (expr); !parley_store_status) { \
      return tl::unexpected(parley_store_status.error());          \
    }                                                              \
  } while (false)

// Evaluates a StoreResult<T>, returns its error if it failed, and otherwise
// binds `var` to (a reference to) its value.
#define PARLEY_STORE_ASSIGN(var, expr)                                                  \
  auto PARLEY_STORE_CONCAT(parley_store_result_, __LINE__) = (expr);                    \
  if (!PARLEY_STORE_CONCAT(parley_store_result_, __LINE__)) {                           \
    return tl::unexpected(PARLEY_STORE_CONCAT(parley_store_result_, __LINE__).error()); \
  }                                                                                     \
  auto& var = *PARLEY_STORE_CONCAT(parley_store_result_, __LINE__)
