#include "field_surgery.h"

#include <stdexcept>

namespace parley::wire::testing {

std::vector<ProtoField> FieldsOf(Bytes message) {
  std::vector<ProtoField> fields;
  ProtoReader reader(message);
  ProtoField field;
  while (reader.Next(field)) fields.push_back(field);
  if (reader.failed()) throw std::invalid_argument("FieldsOf: not a protobuf message");
  return fields;
}

Buffer EncodeField(const ProtoField& field) {
  ByteWriter w;
  switch (field.type) {
    case WireType::kVarint:
      WriteVarintField(w, field.number, field.value);
      break;
    case WireType::kLengthDelimited:
      WriteBytesField(w, field.number, field.bytes);
      break;
    case WireType::kFixed64:
      WriteFixed64Field(w, field.number, field.value);
      break;
    case WireType::kFixed32:
      w.WriteVarint((std::uint64_t{field.number} << 3) | 5);
      for (int i = 0; i < 4; ++i) w.WriteU8(static_cast<std::uint8_t>(field.value >> (8 * i)));
      break;
  }
  return w.Take();
}

Buffer VarintField(std::uint32_t number, std::uint64_t value) {
  ByteWriter w;
  WriteVarintField(w, number, value);
  return w.Take();
}

Buffer BytesField(std::uint32_t number, Bytes bytes) {
  ByteWriter w;
  WriteBytesField(w, number, bytes);
  return w.Take();
}

Buffer Concat(Bytes a, Bytes b) {
  Buffer out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

namespace {

Buffer Rewrite(Bytes message, std::uint32_t number, const std::function<Buffer(const ProtoField&)>& rewrite) {
  Buffer out;
  for (const ProtoField& f : FieldsOf(message)) {
    const Buffer field = f.number == number ? rewrite(f) : EncodeField(f);
    out.insert(out.end(), field.begin(), field.end());
  }
  return out;
}

}  // namespace

Buffer WithoutField(Bytes message, std::uint32_t number) {
  return Rewrite(message, number, [](const ProtoField&) { return Buffer{}; });
}

Buffer WithFieldTwice(Bytes message, std::uint32_t number) {
  return Rewrite(message, number, [](const ProtoField& f) {
    const Buffer once = EncodeField(f);
    return Concat(once, once);
  });
}

Buffer EditField(Bytes message, std::uint32_t number, const std::function<Buffer(Bytes)>& edit) {
  return Rewrite(message, number, [&](const ProtoField& f) {
    if (f.type != WireType::kLengthDelimited) throw std::invalid_argument("EditField: not length-delimited");
    const Buffer value = edit(f.bytes);
    return BytesField(f.number, value);
  });
}

Buffer ReplaceField(Bytes message, std::uint32_t number, Bytes replacement) {
  return Rewrite(message, number,
                 [&](const ProtoField&) { return Buffer(replacement.begin(), replacement.end()); });
}

}  // namespace parley::wire::testing
