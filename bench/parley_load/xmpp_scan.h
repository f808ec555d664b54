// Scanning an XMPP client stream for what parley-load needs: the end of a
// login step and the bodies of chat messages. Not a general XML parser: it
// looks for the exact markup Prosody and ejabberd write, on bytes from the
// server under test, and bounds what it keeps.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley::load {

// What one scan step found.
struct XmppBody {
  std::string text;    // the <body> content, as written (no entities expected)
  bool error = false;  // inside a <message type='error'> bounce
};

class XmppInbox {
 public:
  // Bytes kept at most while waiting for the end of an element; more is a
  // protocol failure of the peer.
  static constexpr std::size_t kMaxPendingBytes = 256 * 1024;

  // Appends received bytes; false when more than kMaxPendingBytes would wait.
  bool Append(std::string_view bytes);

  // If `marker` occurs, drops everything up to and including it and returns
  // true. Used for "</stream:features>", "<success", "</iq>".
  bool Consume(std::string_view marker);
  // True when `text` occurs in what is waiting (nothing is dropped).
  bool Contains(std::string_view text) const { return pending_.find(text) != std::string::npos; }

  // The next complete <body>...</body>, dropping what precedes it; nullopt
  // when none is complete yet (what cannot start a body is dropped).
  std::optional<XmppBody> NextBody();

  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string pending_;
};

}  // namespace parley::load
