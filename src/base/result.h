// Result and Error: errors are values.
//
// Every function that can fail on input returns Result<T, Code>, where Code is
// the precise error enum of its layer. Result is [[nodiscard]]: a caller that
// ignores a failure does not compile warning-free. The error's text is a fixed
// string chosen by the code that failed; it never carries user data or secrets.
#pragma once

#include <string_view>
#include <tl/expected.hpp>
#include <type_traits>
#include <utility>

namespace parley {

template <class Code>
struct Error {
  Code code;
  // A static, human-readable explanation. Never user data.
  std::string_view message;

  friend bool operator==(const Error& a, const Error& b) { return a.code == b.code; }
};

template <class T, class Code>
class [[nodiscard]] Result : public tl::expected<T, Error<Code>> {
 public:
  using Base = tl::expected<T, Error<Code>>;
  using Base::Base;
  Result(const Base& b) : Base(b) {}        // NOLINT(google-explicit-constructor)
  Result(Base&& b) : Base(std::move(b)) {}  // NOLINT(google-explicit-constructor)
};

// Fail(code, "why") builds the error side of any Result<_, Code>.
template <class Code>
[[nodiscard]] tl::unexpected<Error<Code>> Fail(Code code, std::string_view message) {
  return tl::unexpected<Error<Code>>(Error<Code>{code, message});
}

// Status is a Result with no value: success or an error.
template <class Code>
using Status = Result<void, Code>;

template <class Code>
[[nodiscard]] Status<Code> Ok() {
  return {};
}

}  // namespace parley
