// CrowdPlay's embind shim around ale::ALEInterface (ALE 0.12.1).
//
// The call sequence mirrors the Python verifier exactly (see wasm/README.md):
//   Emulator e; e.configure(seed, p, max_frames);   // setInt/setFloat/setInt/setInt
//   e.loadRom(game, bytes);                          // loadROM(path)
//   e.setModeAndDifficulty(mode, difficulty);        // setMode, setDifficulty
//   e.resetGame();                                   // reset_game
//   e.act(a) or e.act2(a, b) once per frame.
//
// No C++ exception may cross into JS (the build has exception catching disabled,
// so a throw aborts the whole module). Every input that ALE would reject with a
// throw or exit(1) is validated here first and reported as an error string ("" =
// success). Calls that break a precondition (no ROM loaded, action out of range)
// throw a JS Error before any C++ state is touched.

#include <emscripten.h>
#include <emscripten/bind.h>
#include <emscripten/val.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "ale/ale_interface.hpp"
#include "ale/common/Log.hpp"
#include "ale/emucore/MD5.hxx"
#include "ale/games/Roms.hpp"
#include "sha256.hpp"

using emscripten::val;

namespace crowdplay {
namespace {

constexpr int kNumActions = 18;                // ALE's full joystick action set, 0..17
constexpr size_t kMaxRomSize = 512 * 1024;     // OSystem.cxx MAX_ROM_SIZE (gzread truncates beyond)
constexpr size_t kRamSize = 128;
// saveState blob: magic, then the ROM's MD5 (32 hex chars), then SHA-256 of the payload, then
// the payload (ALEState::serialize). The header lets loadState reject a truncated, corrupted or
// foreign blob up front; ALE's Deserializer would otherwise throw (= abort) or restore garbage.
constexpr char kStateMagic[8] = {'C', 'P', 'A', 'L', 'E', 'S', 'T', '1'};
constexpr size_t kStateHeader = sizeof(kStateMagic) + 32 + 32;

[[noreturn]] void throwJsError(const std::string& message) {
  // Throwing a JS exception unwinds the wasm frames without running destructors, so this is
  // only ever called before anything has been allocated or modified.
  val::global("Error").new_(message).throw_();
}

std::string hex(const uint8_t* data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 15]);
  }
  return out;
}

template <typename T>
std::string joinList(const std::vector<T>& values) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  return out.str();
}

template <typename T>
val toJsArray(const std::vector<T>& values) {
  val out = val::array();
  for (size_t i = 0; i < values.size(); ++i) out.set(i, static_cast<int>(values[i]));
  return out;
}

/** A fresh Uint8Array holding a copy of `len` bytes (independent of wasm memory). */
val copyToUint8Array(const uint8_t* data, size_t len) {
  return val::global("Uint8Array").new_(emscripten::typed_memory_view(len, data));
}

bool isRomName(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
         });
}

}  // namespace

/** One ALE instance. Created per episode; configure -> loadRom -> setModeAndDifficulty -> resetGame. */
class Emulator {
 public:
  Emulator() {
    // ALE logs to stderr at Info level by default (welcome banner, ROM details).
    ale::Logger::setMode(ale::Logger::Error);
    ale_ = std::make_unique<ale::ALEInterface>();
  }

  /** The normative settings, in the verifier's order. Must precede loadRom. */
  std::string configure(int seed, float repeatActionProbability, int maxNumFramesPerEpisode) {
    if (loaded_) return "configure must be called before loadRom";
    if (!(repeatActionProbability >= 0.0f && repeatActionProbability <= 1.0f)) {
      return "repeat_action_probability must be in [0, 1]";
    }
    if (maxNumFramesPerEpisode < 0) return "max_num_frames_per_episode must be >= 0";
    ale_->setInt("random_seed", seed);
    ale_->setFloat("repeat_action_probability", repeatActionProbability);
    ale_->setInt("frame_skip", 1);
    ale_->setInt("max_num_frames_per_episode", maxNumFramesPerEpisode);
    return "";
  }

  /**
   * Writes the ROM bytes to MEMFS as /roms/<name>.bin and calls loadROM on it, after checking
   * that ALE resolves <name> + the bytes' MD5 to a supported ROM with exactly that MD5 (what
   * ALEInterface::isSupportedROM checks; an unsupported ROM would make loadROM exit(1)) and
   * that this ROM's ALE id is <name> (the ale-py ROM id, e.g. "space_invaders").
   * `bytes` is a Uint8Array/ArrayBuffer (embind copies it into the std::string).
   */
  std::string loadRom(const std::string& name, const std::string& bytes) {
    if (loaded_) return "a ROM is already loaded; create a new Emulator";
    if (!isRomName(name)) return "ROM name must match [a-z0-9_]{1,64}, got '" + name + "'";
    if (bytes.empty() || bytes.size() > kMaxRomSize) {
      return "ROM size " + std::to_string(bytes.size()) + " is outside 1.." + std::to_string(kMaxRomSize);
    }
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
    std::string md5 = ale::stella::MD5(data, static_cast<uint32_t>(bytes.size()));
    std::string path = "/roms/" + name + ".bin";
    std::unique_ptr<ale::RomSettings> wrapper(ale::buildRomRLWrapper(path, md5));
    if (!wrapper || wrapper->md5() != md5) {
      return "unsupported ROM: '" + name + "' with md5 " + md5 + " is not a ROM supported by ALE " ALE_VERSION;
    }
    if (wrapper->rom() != name) {  // ALE matches by md5 or by name: the bytes are another game
      return "ROM mismatch: the bytes given for '" + name + "' (md5 " + md5 + ") are ALE's '" + wrapper->rom() + "'";
    }

    mkdir("/roms", 0755);  // EEXIST is fine
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return "cannot write " + path;
    bool ok = std::fwrite(data, 1, bytes.size(), f) == bytes.size();
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) return "cannot write " + path;

    ale_->loadROM(path);
    romMd5_ = md5;
    loaded_ = true;
    return "";
  }

  /** Validates, then setMode(mode) and setDifficulty(difficulty) as the verifier does. */
  std::string setModeAndDifficulty(unsigned mode, unsigned difficulty) {
    requireRom();
    ale::ModeVect modes = ale_->getAvailableModes();
    if (std::find(modes.begin(), modes.end(), mode) == modes.end()) {
      return "invalid mode " + std::to_string(mode) + "; valid modes: " + joinList(modes);
    }
    ale::DifficultyVect difficulties = ale_->getAvailableDifficulties();
    if (std::find(difficulties.begin(), difficulties.end(), difficulty) == difficulties.end()) {
      return "invalid difficulty " + std::to_string(difficulty) + "; valid difficulties: " + joinList(difficulties);
    }
    ale_->setMode(mode);
    ale_->setDifficulty(difficulty);
    return "";
  }

  /** ALEInterface::reset_game: new episode, the sticky-action RNG is NOT reseeded. */
  void resetGame() {
    requireRom();
    ale_->reset_game();
  }

  /** One frame for player A; identical to ale_py's ale.act(a). Returns player A's reward. */
  int act(int a) {
    requireRom();
    requireAction(a, "a");
    return ale_->act(static_cast<ale::Action>(a));
  }

  /**
   * One frame for both players: environment->act(a, b + PLAYER_B_NOOP, 1.0, 1.0).
   * Returns player A's reward: ALE 0.12.1 only tracks player A's score, so player B's reward
   * is not available from ALE (callers report 0 until per-game RAM readers exist).
   */
  int act2(int a, int b) {
    requireRom();
    requireAction(a, "a");
    requireAction(b, "b");
    return ale_->environment->act(static_cast<ale::Action>(a),
                                  static_cast<ale::Action>(b + ale::PLAYER_B_NOOP), 1.0f, 1.0f);
  }

  /** Terminal without truncation: ale.game_over(with_truncation=False). */
  bool gameOver() const { requireRom(); return ale_->game_over(false); }
  bool truncated() const { requireRom(); return ale_->game_truncated(); }
  int lives() { requireRom(); return ale_->lives(); }
  int episodeFrameNumber() const { requireRom(); return ale_->getEpisodeFrameNumber(); }
  int frameNumber() const { requireRom(); return ale_->getFrameNumber(); }
  std::string romMd5() const { return romMd5_; }

  val getAvailableModes() const { requireRom(); return toJsArray(ale_->getAvailableModes()); }
  val getAvailableDifficulties() const { requireRom(); return toJsArray(ale_->getAvailableDifficulties()); }
  val minimalActionSet() const { requireRom(); return toJsArray(ale_->getMinimalActionSet()); }

  /** Copy of the 128 bytes of RAM. */
  val ram() const {
    requireRom();
    return copyToUint8Array(ale_->getRAM().array(), kRamSize);
  }

  std::string setRam(int index, int value) {
    requireRom();
    if (index < 0 || index >= static_cast<int>(kRamSize)) return "RAM index " + std::to_string(index) + " outside 0..127";
    if (value < 0 || value > 255) return "RAM value " + std::to_string(value) + " outside 0..255";
    ale_->setRAM(static_cast<size_t>(index), static_cast<ale::byte_t>(value));
    return "";
  }

  /** Checkpoint digest: hex of the first 8 bytes of SHA-256 over the 128 RAM bytes. */
  std::string ramDigest() const {
    requireRom();
    auto digest = sha256(ale_->getRAM().array(), kRamSize);
    return hex(digest.data(), 8);
  }

  /** Full state including the sticky-action RNG (cloneState(true)), framed; see kStateMagic. */
  val saveState() {
    requireRom();
    std::string payload = ale_->cloneState(true).serialize();
    auto digest = sha256(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    std::string blob(kStateMagic, sizeof(kStateMagic));
    blob += romMd5_;
    blob.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    blob += payload;
    return copyToUint8Array(reinterpret_cast<const uint8_t*>(blob.data()), blob.size());
  }

  /** Restores a blob from saveState() of this build and ROM; returns "" or an error. */
  std::string loadState(const std::string& blob) {
    requireRom();
    if (blob.size() <= kStateHeader || blob.compare(0, sizeof(kStateMagic), kStateMagic, sizeof(kStateMagic)) != 0) {
      return "not a CrowdPlay ALE state blob";
    }
    if (blob.compare(sizeof(kStateMagic), 32, romMd5_) != 0) {
      return "state was saved for ROM md5 " + blob.substr(sizeof(kStateMagic), 32) + ", loaded ROM is " + romMd5_;
    }
    std::string payload = blob.substr(kStateHeader);
    auto digest = sha256(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    if (blob.compare(sizeof(kStateMagic) + 32, 32, reinterpret_cast<const char*>(digest.data()), 32) != 0) {
      return "state blob is corrupted (checksum mismatch)";
    }
    ale_->restoreState(ale::ALEState(payload));
    return "";
  }

  int screenWidth() const { requireRom(); return static_cast<int>(ale_->getScreen().width()); }
  int screenHeight() const { requireRom(); return static_cast<int>(ale_->getScreen().height()); }

  /**
   * The screen as RGBA (palette applied, alpha 255), width*height*4 bytes. Returns a VIEW into
   * wasm memory, valid until the next call on any Emulator (memory growth detaches it): copy it
   * or draw it at once.
   */
  val screenRGBA() {
    requireRom();
    const ale::ALEScreen& screen = ale_->getScreen();
    size_t pixels = screen.width() * screen.height();
    rgb_.resize(pixels * 3);
    rgba_.resize(pixels * 4);
    ale_->theOSystem->colourPalette().applyPaletteRGB(rgb_.data(), screen.getArray(), pixels);
    for (size_t i = 0; i < pixels; ++i) {
      rgba_[4 * i] = rgb_[3 * i];
      rgba_[4 * i + 1] = rgb_[3 * i + 1];
      rgba_[4 * i + 2] = rgb_[3 * i + 2];
      rgba_[4 * i + 3] = 255;
    }
    return val(emscripten::typed_memory_view(rgba_.size(), rgba_.data()));
  }

 private:
  void requireRom() const {
    if (!loaded_) throwJsError("Emulator: no ROM loaded (call configure, then loadRom)");
  }

  static void requireAction(int action, const char* player) {
    if (action < 0 || action >= kNumActions) {
      throwJsError(std::string("Emulator: action for player ") + player + " is " + std::to_string(action) +
                   ", expected 0..17");
    }
  }

  std::unique_ptr<ale::ALEInterface> ale_;
  bool loaded_ = false;
  std::string romMd5_;
  std::vector<uint8_t> rgb_, rgba_;
};

}  // namespace crowdplay

EMSCRIPTEN_BINDINGS(crowdplay_ale) {
  using crowdplay::Emulator;
  emscripten::constant("ALE_VERSION", std::string(ALE_VERSION));
  emscripten::class_<Emulator>("Emulator")
      .constructor<>()
      .function("configure", &Emulator::configure)
      .function("loadRom", &Emulator::loadRom)
      .function("setModeAndDifficulty", &Emulator::setModeAndDifficulty)
      .function("resetGame", &Emulator::resetGame)
      .function("act", &Emulator::act)
      .function("act2", &Emulator::act2)
      .function("gameOver", &Emulator::gameOver)
      .function("truncated", &Emulator::truncated)
      .function("lives", &Emulator::lives)
      .function("episodeFrameNumber", &Emulator::episodeFrameNumber)
      .function("frameNumber", &Emulator::frameNumber)
      .function("romMd5", &Emulator::romMd5)
      .function("getAvailableModes", &Emulator::getAvailableModes)
      .function("getAvailableDifficulties", &Emulator::getAvailableDifficulties)
      .function("minimalActionSet", &Emulator::minimalActionSet)
      .function("ram", &Emulator::ram)
      .function("setRam", &Emulator::setRam)
      .function("ramDigest", &Emulator::ramDigest)
      .function("saveState", &Emulator::saveState)
      .function("loadState", &Emulator::loadState)
      .function("screenWidth", &Emulator::screenWidth)
      .function("screenHeight", &Emulator::screenHeight)
      .function("screenRGBA", &Emulator::screenRGBA);
}
