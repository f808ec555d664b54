// Errors of the client layer.
//
// Every Client operation returns ClientResult<T> (or ClientStatus). The codes
// are stable: the `parley` command line maps them to exit codes and JSON
// error names. Messages are fixed texts, never user data or secrets.
#pragma once

#include <string_view>

#include "base/result.h"

namespace parley::client {

enum class ClientErrc {
  kInvalidArgument = 1,  // a username, body, path or id the operation cannot take
  kNotRegistered,        // the profile has no account yet (register or link first)
  kAlreadyRegistered,    // the profile already holds an account
  kNotFound,             // no such account, username, contact, message, group or device
  kConflict,             // the username is taken; the account already has 6 devices
  kForbidden,            // the server refused: registration closed, not the primary device
  kUnauthorized,         // the server does not know this device's credential any more
  kRateLimited,          // the server asks to retry later
  kUntrustedIdentity,    // a verified contact's identity changed: re-verify before sending
  kBlocked,              // the contact is blocked
  kTooLarge,             // a body, attachment or list over its cap
  kNetwork,              // cannot connect, TLS or pin failure, connection lost
  kTimeout,              // no answer in time
  kServerError,          // the server answered with an error the client cannot act on
  kProtocol,             // a message could not be encrypted or decrypted
  kStorage,              // the local store failed (locked, corrupt, disk full)
  kBadPassphrase,        // the store's key does not open it
  kIncompatibleStore,    // the store was written by a newer Parley
};

template <class T>
using ClientResult = Result<T, ClientErrc>;
using ClientStatus = Status<ClientErrc>;
using ClientError = Error<ClientErrc>;

// A stable snake_case name, e.g. "untrusted_identity".
std::string_view ClientErrcName(ClientErrc code);

}  // namespace parley::client
