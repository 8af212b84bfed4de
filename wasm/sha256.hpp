// SHA-256 (FIPS 180-4), self-contained, for the checkpoint digest of the 128-byte RAM.
#ifndef CROWDPLAY_SHA256_HPP
#define CROWDPLAY_SHA256_HPP

#include <array>
#include <cstddef>
#include <cstdint>

namespace crowdplay {

/** Returns the SHA-256 digest of `len` bytes at `data`. */
std::array<uint8_t, 32> sha256(const uint8_t* data, size_t len);

}  // namespace crowdplay

#endif  // CROWDPLAY_SHA256_HPP
