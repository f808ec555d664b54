// The character sets of the wire layer's strings.
//
// Each predicate checks one kind of string exactly as the decoders do, so a
// client can validate user input before sending it and a server can validate
// what an operator configures.
#pragma once

#include <string>
#include <string_view>

namespace parley::wire {

// 3-32 characters of a-z, A-Z, 0-9, '_' and '.'.
bool IsValidUsername(std::string_view username);
// The form the server stores and compares: ASCII letters lower-cased. Two
// usernames name the same account exactly when their canonical forms match.
std::string CanonicalUsername(std::string_view username);

// 1-64 bytes of well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF) without control characters (C0, DEL, C1).
bool IsValidDeviceName(std::string_view name);

// 16-64 characters of A-Z and 0-9.
bool IsValidLinkCode(std::string_view code);

// 1-64 printable ASCII characters other than space.
bool IsValidInvitationToken(std::string_view token);

// 0-256 printable ASCII characters (space included).
bool IsValidErrorDetail(std::string_view detail);

}  // namespace parley::wire
