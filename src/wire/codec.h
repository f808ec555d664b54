// Encoding and decoding of frames: protobuf wire format, written by hand over
// base's ProtoReader and ByteWriter (no libprotobuf at run time), with the
// field numbers of docs/wire.proto.
//
// Decoders read only through ProtoReader, check each length against its cap
// before copying, reject a duplicated singular field, a missing required
// field, a fixed-size field of another size and a Frame, Request or Push with
// zero or several bodies, then apply Validate (wire/validate.h). Unknown
// fields are skipped, so newer peers may add fields. Encoders validate first
// and write fields in field-number order, the bytes libprotobuf would write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "base/byte_reader.h"
#include "wire/error.h"
#include "wire/limits.h"
#include "wire/messages.h"

namespace parley::wire {

// Decodes one WebSocket message. Frames larger than max_frame_size (never
// more than kMaxFrameSize; kMaxUnauthenticatedFrameSize before a connection
// has authenticated) fail with kTooLarge before anything is parsed.
WireResult<Frame> DecodeFrame(Bytes frame, std::size_t max_frame_size = kMaxFrameSize);
// As DecodeFrame, for a server reading a client: a Response or Push fails
// with kWrongDirection.
WireResult<ClientFrame> DecodeClientFrame(Bytes frame, std::size_t max_frame_size = kMaxFrameSize);
// As DecodeFrame, for a client reading a server: a Request or PushAck fails
// with kWrongDirection.
WireResult<ServerFrame> DecodeServerFrame(Bytes frame);

// The id of the Request in a frame that did not decode, so that the server
// can still answer it (bad_request, too_large) instead of closing; nullopt
// when the frame is not a request or its id cannot be read.
std::optional<std::uint64_t> PeekRequestId(Bytes frame);

// Encodes one frame. Fails with the Validate error when the frame breaks a
// rule of the schema, and with kTooLarge when it would exceed kMaxFrameSize.
// The output is reserved to its exact size.
WireResult<std::vector<std::uint8_t>> EncodeFrame(const Frame& frame);
WireResult<std::vector<std::uint8_t>> EncodeFrame(const Request& request);
WireResult<std::vector<std::uint8_t>> EncodeFrame(const Response& response);
WireResult<std::vector<std::uint8_t>> EncodeFrame(const Push& push);
WireResult<std::vector<std::uint8_t>> EncodeFrame(const PushAck& ack);

// One message on its own (not wrapped in a Frame), e.g. an Envelope or a
// RegisterRequest: for fuzzing, tests and storing. Defined for every message
// type of wire/messages.h except the Frame variants; same rules as above.
template <class T>
WireResult<T> DecodeMessage(Bytes bytes);
template <class T>
WireResult<std::vector<std::uint8_t>> EncodeMessage(const T& message);

}  // namespace parley::wire
