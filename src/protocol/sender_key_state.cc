#include "protocol/sender_key_state.h"

#include <algorithm>

#include "protocol/limits.h"

namespace parley::protocol {

void SenderKeyState::AddMessageKey(SenderMessageKey key) {
  message_keys_.push_back(std::move(key));
  while (message_keys_.size() > kMaxSenderMessageKeys) message_keys_.pop_front();
}

bool SenderKeyState::HasMessageKey(std::uint32_t iteration) const {
  return std::any_of(message_keys_.begin(), message_keys_.end(),
                     [iteration](const SenderMessageKey& k) { return k.iteration() == iteration; });
}

std::optional<SenderMessageKey> SenderKeyState::TakeMessageKey(std::uint32_t iteration) {
  const auto it = std::find_if(message_keys_.begin(), message_keys_.end(),
                               [iteration](const SenderMessageKey& k) { return k.iteration() == iteration; });
  if (it == message_keys_.end()) return std::nullopt;
  std::optional<SenderMessageKey> key(std::move(*it));
  message_keys_.erase(it);
  return key;
}

}  // namespace parley::protocol
