// The browser's binding: embind class `Emulator` over crowdplay::Emulator (emulator.hpp).
//
// Only conversions live here: JS arrays and Uint8Arrays in and out, and the ROM file written to
// MEMFS before ALE loads it. No C++ exception may cross into JS (the build has exception
// catching disabled, so a throw aborts the whole module): crowdplay::fail throws a JS Error,
// and is only ever called before anything has been allocated or modified.

#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/val.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "version.hpp"
#include "emulator.hpp"

using emscripten::val;

namespace crowdplay {

[[noreturn]] void fail(const std::string& message) {
  // Throwing a JS exception unwinds the wasm frames without running destructors.
  val::global("Error").new_(message).throw_();
  __builtin_unreachable();
}

namespace {

val toJsArray(const std::vector<int>& values) {
  val out = val::array();
  for (size_t i = 0; i < values.size(); ++i) out.set(i, values[i]);
  return out;
}

/** A fresh Uint8Array holding a copy of `len` bytes (independent of wasm memory). */
val copyToUint8Array(const uint8_t* data, size_t len) {
  return val::global("Uint8Array").new_(emscripten::typed_memory_view(len, data));
}

/** The embind surface: the names wasm/ale.d.ts declares. */
class JsEmulator {
 public:
  std::string configure(int seed, float p, int maxFrames) { return e_.configure(seed, p, maxFrames); }

  /** `bytes` is a Uint8Array/ArrayBuffer (embind copies it); written to MEMFS, then loaded. */
  std::string loadRom(const std::string& name, const std::string& bytes) {
    std::string error = e_.checkRom(name, bytes);  // before anything reaches MEMFS
    if (!error.empty()) return error;
    std::string path = "/roms/" + name + ".bin";
    mkdir("/roms", 0755);  // EEXIST is fine
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return "cannot write " + path;
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) return "cannot write " + path;
    return e_.loadRom(name, bytes, path);
  }

  std::string setModeAndDifficulty(unsigned mode, unsigned difficulty) {
    return e_.setModeAndDifficulty(mode, difficulty);
  }
  std::string setTwoPlayerModeAndDifficulty(unsigned mode, unsigned difficulty) {
    return e_.setTwoPlayerModeAndDifficulty(mode, difficulty);
  }
  void resetGame() { e_.resetGame(); }
  int act(int a) { return e_.act(a); }
  int act2(int a, int b) { return e_.act2(a, b); }
  int rewardB() const { return e_.rewardB(); }
  int livesB() const { return e_.livesB(); }
  bool twoPlayer() const { return e_.twoPlayer(); }
  bool gameOver() const { return e_.gameOver(); }
  bool truncated() const { return e_.truncated(); }
  int lives() { return e_.lives(); }
  int episodeFrameNumber() const { return e_.episodeFrameNumber(); }
  int frameNumber() const { return e_.frameNumber(); }
  std::string romMd5() const { return e_.romMd5(); }
  val getAvailableModes() const { return toJsArray(e_.availableModes()); }
  val getAvailableDifficulties() const { return toJsArray(e_.availableDifficulties()); }
  val minimalActionSet() const { return toJsArray(e_.minimalActionSet()); }

  /** Copy of the 128 bytes of RAM. */
  val ram() const { return copyToUint8Array(e_.ram(), kRamSize); }
  std::string setRam(int index, int value) { return e_.setRam(index, value); }
  std::string ramDigest() const { return e_.ramDigest(); }

  val saveState() {
    std::string blob = e_.saveState();
    return copyToUint8Array(reinterpret_cast<const uint8_t*>(blob.data()), blob.size());
  }
  std::string loadState(const std::string& blob) { return e_.loadState(blob); }

  int screenWidth() const { return e_.screenWidth(); }
  int screenHeight() const { return e_.screenHeight(); }

  /**
   * The screen as RGBA (palette applied, alpha 255), width*height*4 bytes. Returns a VIEW into
   * wasm memory, valid until the next call on any Emulator (memory growth detaches it): copy it
   * or draw it at once.
   */
  val screenRGBA() {
    const std::vector<uint8_t>& rgba = e_.screenRGBA();
    return val(emscripten::typed_memory_view(rgba.size(), rgba.data()));
  }

 private:
  Emulator e_;
};

}  // namespace
}  // namespace crowdplay

EMSCRIPTEN_BINDINGS(crowdplay_ale) {
  using crowdplay::JsEmulator;
  emscripten::constant("ALE_VERSION", std::string(ALE_VERSION));
  emscripten::class_<JsEmulator>("Emulator")
      .constructor<>()
      .function("configure", &JsEmulator::configure)
      .function("loadRom", &JsEmulator::loadRom)
      .function("setModeAndDifficulty", &JsEmulator::setModeAndDifficulty)
      .function("setTwoPlayerModeAndDifficulty", &JsEmulator::setTwoPlayerModeAndDifficulty)
      .function("resetGame", &JsEmulator::resetGame)
      .function("act", &JsEmulator::act)
      .function("act2", &JsEmulator::act2)
      .function("rewardB", &JsEmulator::rewardB)
      .function("livesB", &JsEmulator::livesB)
      .function("twoPlayer", &JsEmulator::twoPlayer)
      .function("gameOver", &JsEmulator::gameOver)
      .function("truncated", &JsEmulator::truncated)
      .function("lives", &JsEmulator::lives)
      .function("episodeFrameNumber", &JsEmulator::episodeFrameNumber)
      .function("frameNumber", &JsEmulator::frameNumber)
      .function("romMd5", &JsEmulator::romMd5)
      .function("getAvailableModes", &JsEmulator::getAvailableModes)
      .function("getAvailableDifficulties", &JsEmulator::getAvailableDifficulties)
      .function("minimalActionSet", &JsEmulator::minimalActionSet)
      .function("ram", &JsEmulator::ram)
      .function("setRam", &JsEmulator::setRam)
      .function("ramDigest", &JsEmulator::ramDigest)
      .function("saveState", &JsEmulator::saveState)
      .function("loadState", &JsEmulator::loadState)
      .function("screenWidth", &JsEmulator::screenWidth)
      .function("screenHeight", &JsEmulator::screenHeight)
      .function("screenRGBA", &JsEmulator::screenRGBA);
}
