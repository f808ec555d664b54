#include "xmpp_scan.h"

namespace parley::load {

namespace {

constexpr std::string_view kBodyOpen = "<body>";
constexpr std::string_view kBodyClose = "</body>";

}  // namespace

bool XmppInbox::Append(std::string_view bytes) {
  if (pending_.size() + bytes.size() > kMaxPendingBytes) return false;
  pending_.append(bytes);
  return true;
}

bool XmppInbox::Consume(std::string_view marker) {
  const std::size_t at = pending_.find(marker);
  if (at == std::string::npos) return false;
  pending_.erase(0, at + marker.size());
  return true;
}

std::optional<XmppBody> XmppInbox::NextBody() {
  const std::size_t open = pending_.find(kBodyOpen);
  if (open == std::string::npos) {
    // Keep a tail that may be the start of a split "<body>".
    if (pending_.size() >= kBodyOpen.size()) pending_.erase(0, pending_.size() - (kBodyOpen.size() - 1));
    return std::nullopt;
  }
  const std::size_t close = pending_.find(kBodyClose, open + kBodyOpen.size());
  if (close == std::string::npos) {
    // Keep the enclosing <message ...> start tag for the error check.
    const std::size_t message = pending_.rfind("<message", open);
    pending_.erase(0, message == std::string::npos ? open : message);
    return std::nullopt;
  }
  XmppBody body;
  const std::size_t message = pending_.rfind("<message", open);
  if (message != std::string::npos) {
    const std::size_t tag_end = pending_.find('>', message);
    const std::string_view tag =
        std::string_view(pending_).substr(message, (tag_end == std::string::npos ? open : tag_end) - message);
    body.error = tag.find("type='error'") != std::string_view::npos ||
                 tag.find("type=\"error\"") != std::string_view::npos;
  }
  const std::size_t start = open + kBodyOpen.size();
  body.text = pending_.substr(start, close - start);
  pending_.erase(0, close + kBodyClose.size());
  return body;
}

}  // namespace parley::load
