// Shared by the protocol_bench*.cc files, so that every implementation's rows
// measure the same thing. Row names are <operation>/<implementation>:
//   chain_message      encrypt + decrypt of one kMessageBytes message in an
//                      established, acknowledged chain (no DH step)
//   ratchet_roundtrip  A->B then B->A, each message a DH ratchet step
//   session_setup      bundle creation + initiator setup + first message
//                      decrypted by the responder
//   group_message      group encrypt + decrypt of one kMessageBytes message
// Decryption always starts from the serialized bytes the sender produced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace parley::bench {

// Plaintext size of the message rows.
inline constexpr std::size_t kMessageBytes = 100;

// The plaintext every message row sends (its content does not change the cost).
inline std::vector<std::uint8_t> BenchMessage() {
  std::vector<std::uint8_t> message(kMessageBytes);
  for (std::size_t i = 0; i < message.size(); ++i) message[i] = static_cast<std::uint8_t>(i);
  return message;
}

}  // namespace parley::bench
