/*
 * Minimal stand-in for zlib, covering exactly what ALE 0.12.1 uses.
 *
 * Debian's Emscripten 3.1.6 zlib port tries to download at build time, which
 * fails offline, and ALE only needs zlib in two places:
 *   - OSystem::openROM reads the ROM with gzopen/gzread/gzclose. ROMs reach the
 *     shim as raw bytes, so the file is never gzip-compressed and gzread is a
 *     plain read (real zlib also passes uncompressed files through unchanged).
 *   - ScreenExporter (PNG output, never used by CrowdPlay) calls crc32 and
 *     compress. crc32 is implemented; compress reports an error, so
 *     saveScreenPNG logs and writes no image data.
 */
#ifndef CROWDPLAY_COMPAT_ZLIB_H
#define CROWDPLAY_COMPAT_ZLIB_H

#include <cstdio>

typedef unsigned char Bytef;
typedef unsigned int uInt;
typedef unsigned long uLong;
typedef unsigned long uLongf;
typedef FILE* gzFile;

#define Z_OK 0
#define Z_STREAM_ERROR (-2)

static inline gzFile gzopen(const char* path, const char* mode) {
  return std::fopen(path, mode);
}

/** Reads up to len bytes; returns the count read, or -1 on a read error. */
static inline int gzread(gzFile file, void* buf, unsigned len) {
  size_t n = std::fread(buf, 1, len, file);
  return std::ferror(file) ? -1 : static_cast<int>(n);
}

static inline int gzclose(gzFile file) { return std::fclose(file) == 0 ? Z_OK : Z_STREAM_ERROR; }

/** CRC-32 (IEEE 802.3, reflected, as zlib's crc32), bitwise: only used on PNG chunks. */
static inline uLong crc32(uLong crc, const Bytef* buf, uInt len) {
  unsigned c = static_cast<unsigned>(crc) ^ 0xffffffffu;
  for (uInt i = 0; i < len; ++i) {
    c ^= buf[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

static inline int compress(Bytef*, uLongf*, const Bytef*, uLong) { return Z_STREAM_ERROR; }

#endif  // CROWDPLAY_COMPAT_ZLIB_H
