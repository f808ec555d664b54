#include "crypto/edwards25519.h"

#include <sodium.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "crypto/fatal_error.h"

namespace parley::crypto {

namespace {

using Fe = FieldElement;

Fe FromUint(std::uint32_t v) {
  std::array<std::uint8_t, 32> bytes{};
  for (int i = 0; i < 4; ++i) bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
  return Fe::FromBytes(bytes);
}

// base^exponent for a little-endian 256-bit exponent (square and multiply).
Fe Pow(const Fe& base, const std::array<std::uint8_t, 32>& exponent) {
  Fe result = Fe::One();
  for (int bit = 255; bit >= 0; --bit) {
    result = result.Square();
    if ((exponent[static_cast<std::size_t>(bit / 8)] >> (bit % 8)) & 1) result = result * base;
  }
  return result;
}

// The curve constants, computed rather than typed in.
struct Constants {
  Fe d;        // -121665 / 121666
  Fe d2;       // 2d
  Fe sqrt_m1;  // 2^((p - 1) / 4), a square root of -1
  Fe base_y;   // 4 / 5, the base point's y
};

const Constants& Curve() {
  static const Constants constants = [] {
    Constants c;
    c.d = FromUint(121665).Negate() * FromUint(121666).Invert();
    c.d2 = c.d + c.d;
    std::array<std::uint8_t, 32> quarter{};  // (p - 1) / 4 = 2^253 - 5
    quarter.fill(0xff);
    quarter[0] = 0xfb;
    quarter[31] = 0x1f;
    c.sqrt_m1 = Pow(FromUint(2), quarter);
    if (!(c.sqrt_m1.Square() == Fe::One().Negate())) FatalCryptoError("sqrt(-1) is wrong");
    c.base_y = FromUint(4) * FromUint(5).Invert();
    return c;
  }();
  return constants;
}

// Extended coordinates: x = X/Z, y = Y/Z, xy = T/Z.
struct P3 {
  Fe x = Fe::Zero(), y = Fe::One(), z = Fe::One(), t = Fe::Zero();
};
// Projective: x = X/Z, y = Y/Z.
struct P2 {
  Fe x, y, z;
};
// Completed: x = X/Z, y = Y/T.
struct P1P1 {
  Fe x, y, z, t;
};
// A P3 prepared for addition: (Y + X, Y - X, Z, 2dT).
struct Cached {
  Fe y_plus_x, y_minus_x, z, t2d;
};

P2 ToP2(const P1P1& p) { return {p.x * p.t, p.y * p.z, p.z * p.t}; }
P3 ToP3(const P1P1& p) { return {p.x * p.t, p.y * p.z, p.z * p.t, p.x * p.y}; }
P2 ToP2(const P3& p) { return {p.x, p.y, p.z}; }
Cached ToCached(const P3& p) { return {p.y + p.x, p.y - p.x, p.z, p.t * Curve().d2}; }

P1P1 Double(const P2& p) {
  const Fe xx = p.x.Square();
  const Fe yy = p.y.Square();
  const Fe zz2 = p.z.Square() + p.z.Square();
  const Fe sum = (p.x + p.y).Square();
  P1P1 r;
  r.y = yy + xx;
  r.z = yy - xx;
  r.x = sum - r.y;
  r.t = zz2 - r.z;
  return r;
}

P1P1 Add(const P3& p, const Cached& q) {
  const Fe a = (p.y + p.x) * q.y_plus_x;
  const Fe b = (p.y - p.x) * q.y_minus_x;
  const Fe c = q.t2d * p.t;
  const Fe zz = p.z * q.z;
  const Fe d = zz + zz;
  return {a - b, a + b, d + c, d - c};
}

P1P1 AddNiels(const P3& p, const NielsPoint& q) {
  const Fe a = (p.y + p.x) * q.y_plus_x;
  const Fe b = (p.y - p.x) * q.y_minus_x;
  const Fe c = q.xy2d * p.t;
  const Fe d = p.z + p.z;
  return {a - b, a + b, d + c, d - c};
}

P1P1 SubNiels(const P3& p, const NielsPoint& q) {
  const Fe a = (p.y + p.x) * q.y_minus_x;
  const Fe b = (p.y - p.x) * q.y_plus_x;
  const Fe c = q.xy2d * p.t;
  const Fe d = p.z + p.z;
  return {a - b, a + b, d - c, d + c};
}

// The point with this y and x's sign, if there is one (RFC 8032, 5.1.3,
// without its canonical-y check, as libsodium decodes).
std::optional<P3> Decode(const Fe& y, bool x_negative) {
  const Constants& k = Curve();
  const Fe yy = y.Square();
  const Fe u = yy - Fe::One();
  const Fe v = k.d * yy + Fe::One();
  const Fe v3 = v.Square() * v;
  Fe x = (v3.Square() * v * u).PowP58() * v3 * u;
  const Fe vxx = v * x.Square();
  if (!(vxx == u)) {
    if (!(vxx == u.Negate())) return std::nullopt;
    x = x * k.sqrt_m1;
  }
  if (x.IsNegative() != x_negative) x = x.Negate();
  return P3{x, y, Fe::One(), x * y};
}

std::array<std::uint8_t, 32> Encode(const P2& p) {
  const Fe z_inverse = p.z.Invert();
  const Fe x = p.x * z_inverse;
  std::array<std::uint8_t, 32> out = (p.y * z_inverse).ToBytes();
  out[31] = static_cast<std::uint8_t>(out[31] | (x.IsNegative() ? 0x80 : 0));
  return out;
}

bool IsIdentity(const P2& p) { return p.x.IsZero() && (p.y - p.z).IsZero(); }

// Fills table: row i holds the multiples 1..Multiples of 2^(step * i) * point.
template <std::size_t Rows, std::size_t Multiples>
void BuildTable(const P3& point, int step, NielsTable<Rows, Multiples>& table) {
  std::vector<P3> multiples;
  multiples.reserve(Rows * Multiples);
  P3 base = point;
  for (std::size_t i = 0; i < Rows; ++i) {
    const Cached cached = ToCached(base);
    multiples.push_back(base);
    for (std::size_t j = 1; j < Multiples; ++j) multiples.push_back(ToP3(Add(multiples.back(), cached)));
    if (i + 1 == Rows) break;
    P2 next = ToP2(base);
    for (int d = 1; d < step; ++d) next = ToP2(Double(next));
    base = ToP3(Double(next));  // 2^step * base
  }
  // One inversion for all the Z (Montgomery's trick).
  std::vector<Fe> prefix;
  prefix.reserve(multiples.size());
  Fe product = Fe::One();
  for (const P3& p : multiples) {
    product = product * p.z;
    prefix.push_back(product);
  }
  Fe inverse = product.Invert();
  for (std::size_t n = multiples.size(); n-- > 0;) {
    const Fe z_inverse = n > 0 ? inverse * prefix[n - 1] : inverse;
    inverse = inverse * multiples[n].z;
    const Fe x = multiples[n].x * z_inverse;
    const Fe y = multiples[n].y * z_inverse;
    table[n / Multiples][n % Multiples] = NielsPoint{y + x, y - x, x * y * Curve().d2};
  }
}

// B's table: signed radix-256 digits, one a row: 32 rows of 128 multiples.
constexpr std::size_t kBaseWindowBits = 8;
constexpr std::size_t kBaseDigits = 32;
using BaseTableType = NielsTable<kBaseDigits, std::size_t{1} << (kBaseWindowBits - 1)>;

const BaseTableType& BaseTable() {
  static const BaseTableType* const table = [] {
    const auto base = Decode(Curve().base_y, false);
    if (!base) FatalCryptoError("the Ed25519 base point does not decode");
    auto* built = new BaseTableType;  // lives until exit, like libsodium's static table
    BuildTable(*base, static_cast<int>(kBaseWindowBits), *built);
    return built;
  }();
  return *table;
}

// A scalar below 2^253 in Digits signed digits of radix 2^Bits, each in
// -2^(Bits-1) .. 2^(Bits-1), least significant first.
template <std::size_t Bits, std::size_t Digits>
std::array<int, Digits> SignedDigits(std::span<const std::uint8_t, 32> scalar) {
  // The top digit holds the bits from (Digits - 1) * Bits up, below 2^253,
  // plus a carry: within its range when Bits * Digits >= 254.
  static_assert(Bits * Digits >= 254);
  std::array<int, Digits> e{};
  for (std::size_t i = 0; i < Digits; ++i) {
    int digit = 0;
    for (std::size_t b = 0; b < Bits; ++b) {
      const std::size_t bit = i * Bits + b;
      if (bit < 256 && ((scalar[bit / 8] >> (bit % 8)) & 1)) digit |= 1 << b;
    }
    e[i] = digit;
  }
  constexpr int kHalf = 1 << (Bits - 1);
  for (std::size_t i = 0; i + 1 < Digits; ++i) {
    const int carry = (e[i] + kHalf) >> Bits;
    e[i] -= carry << Bits;
    e[i + 1] += carry;
  }
  return e;
}

template <std::size_t Multiples>
void AddDigit(P3& acc, const std::array<NielsPoint, Multiples>& row, int digit) {
  if (digit > 0) acc = ToP3(AddNiels(acc, row[static_cast<std::size_t>(digit - 1)]));
  if (digit < 0) acc = ToP3(SubNiels(acc, row[static_cast<std::size_t>(-digit - 1)]));
}

// s < L = 2^252 + 27742317777372353535851937790883648493, compared from the top byte.
bool IsCanonicalScalar(std::span<const std::uint8_t, 32> s) {
  static constexpr std::array<std::uint8_t, 32> kL = {
      0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};
  for (std::size_t i = 32; i-- > 0;) {
    if (s[i] != kL[i]) return s[i] < kL[i];
  }
  return false;
}

}  // namespace

std::unique_ptr<Ed25519Verifier> Ed25519Verifier::Create(std::span<const std::uint8_t, 32> public_key) {
  const auto point = Decode(Fe::FromBytes(public_key), (public_key[31] & 0x80) != 0);
  if (!point) return nullptr;
  std::unique_ptr<Ed25519Verifier> verifier(new Ed25519Verifier());
  std::copy(public_key.begin(), public_key.end(), verifier->public_key_.begin());
  BuildTable(*point, 2 * static_cast<int>(kKeyWindowBits), verifier->table_);
  return verifier;
}

bool Ed25519Verifier::Verify(Bytes message, std::span<const std::uint8_t, 64> signature) const {
  const auto r_bytes = signature.first<32>();
  const auto s_bytes = signature.last<32>();
  if (!IsCanonicalScalar(s_bytes)) return false;

  // h = SHA-512(R || A || M) mod L
  crypto_hash_sha512_state hash;
  crypto_hash_sha512_init(&hash);
  crypto_hash_sha512_update(&hash, r_bytes.data(), r_bytes.size());
  crypto_hash_sha512_update(&hash, public_key_.data(), public_key_.size());
  crypto_hash_sha512_update(&hash, message.data(), message.size());
  std::array<std::uint8_t, 64> wide;
  crypto_hash_sha512_final(&hash, wide.data());
  std::array<std::uint8_t, 32> h;
  crypto_core_ed25519_scalar_reduce(h.data(), wide.data());

  // hA = sum of h_k 32^k A: the odd digits first (row k / 2 holds multiples
  // of 1024^(k/2) A), times 32, then the even ones. sB = sum of s_i 256^i B
  // straight from B's rows.
  const auto h_digits = SignedDigits<kKeyWindowBits, kKeyDigits>(h);
  const auto s_digits = SignedDigits<kBaseWindowBits, kBaseDigits>(s_bytes);
  P3 acc;
  for (std::size_t k = 1; k < kKeyDigits; k += 2) AddDigit(acc, table_[k / 2], -h_digits[k]);
  P2 doubled = ToP2(acc);
  for (std::size_t d = 1; d < kKeyWindowBits; ++d) doubled = ToP2(Double(doubled));
  acc = ToP3(Double(doubled));
  for (std::size_t k = 0; k < kKeyDigits; k += 2) AddDigit(acc, table_[k / 2], -h_digits[k]);
  const BaseTableType& base = BaseTable();
  for (std::size_t i = 0; i < kBaseDigits; ++i) AddDigit(acc, base[i], s_digits[i]);

  // libsodium refuses an R of small order; the R that matches is the
  // canonical encoding of acc, so that is acc itself being of small order.
  P2 times8 = ToP2(acc);
  for (int d = 0; d < 3; ++d) times8 = ToP2(Double(times8));
  if (IsIdentity(times8)) return false;

  const std::array<std::uint8_t, 32> r_check = Encode(ToP2(acc));
  return std::equal(r_check.begin(), r_check.end(), r_bytes.begin());
}

}  // namespace parley::crypto
