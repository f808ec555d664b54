// Validate: the rules of the schema beyond the wire format.
//
// Ranges (device, registration and prekey ids), key types, character sets,
// list sizes and distinct entries, non-empty content, and how a response's
// status, body and retry-after fit together. Decoders apply it to every
// message they return; encoders apply it before encoding, so an encoder never
// produces bytes its decoder would reject. Fails with the precise WireErrc.
//
// Defined for every type of wire/messages.h (messages, bodies and frames).
#pragma once

#include "wire/error.h"
#include "wire/messages.h"

namespace parley::wire {

template <class T>
WireStatus Validate(const T& message);

}  // namespace parley::wire
