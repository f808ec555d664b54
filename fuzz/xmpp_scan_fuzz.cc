// Fuzzes parley-load's XMPP stream scanner (bench/parley_load/xmpp_scan.h),
// which reads bytes from the server under test. The input is fed twice: in
// one piece and in pieces whose sizes come from the input itself, taking
// every complete body after each piece. Both must find the same body texts,
// no text may contain the closing tag, and what waits stays bounded.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "xmpp_scan.h"

namespace {

using parley::load::XmppInbox;

void TakeBodies(XmppInbox& inbox, std::vector<std::string>& texts) {
  while (auto body = inbox.NextBody()) {
    if (body->text.find("</body>") != std::string::npos) std::abort();
    texts.push_back(std::move(body->text));
  }
  if (inbox.pending_bytes() > XmppInbox::kMaxPendingBytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  XmppInbox whole;
  std::vector<std::string> whole_texts;
  if (!whole.Append(input)) return 0;  // larger than the scanner keeps: refused, nothing to compare
  TakeBodies(whole, whole_texts);

  XmppInbox pieces;
  std::vector<std::string> piece_texts;
  std::size_t at = 0;
  while (at < input.size()) {
    // Piece sizes 1..16 from the bytes themselves, so splits land everywhere.
    const std::size_t length = std::min<std::size_t>(1 + (data[at] & 0x0f), input.size() - at);
    const std::size_t before = pieces.pending_bytes();
    if (!pieces.Append(input.substr(at, length))) {
      if (pieces.pending_bytes() != before) std::abort();  // a refused append changes nothing
      return 0;
    }
    TakeBodies(pieces, piece_texts);
    at += length;
  }
  if (piece_texts != whole_texts) std::abort();

  // The login-step helpers on the same bytes: a consumed marker is gone.
  XmppInbox login;
  if (!login.Append(input)) return 0;
  for (std::string_view marker : {"</stream:features>", "<success", "</iq>"}) {
    const bool present = login.Contains(marker);
    const std::size_t before = login.pending_bytes();
    if (login.Consume(marker) != present) std::abort();
    if (present && login.pending_bytes() > before - marker.size()) std::abort();
  }
  return 0;
}
