// CrowdPlay's emulator: one ALE 0.12.1 instance behind the normative call sequence.
//
// This is the one C++ source of truth for both emulators CrowdPlay runs: the browser's
// WebAssembly build (js_bindings.cpp, embind) and the verifier's native two-player backend
// (python_bindings.cpp, pybind11). Neither binding adds behaviour; each only converts values.
//
// The call sequence mirrors the Python verifier exactly (see wasm/README.md):
//   Emulator e; e.configure(seed, p, max_frames);   // setInt/setFloat/setInt/setInt
//   e.loadRom(game, bytes);                          // loadROM(path)
//   e.setModeAndDifficulty(mode, difficulty);        // setMode, setDifficulty
//   e.resetGame();                                   // reset_game
//   e.act(a) or e.act2(a, b) once per frame.
//
// Inputs that ALE would reject with a throw or exit(1) are validated first and reported as an
// error string ("" = success). A call that breaks a precondition (no ROM loaded, an action out
// of range) calls crowdplay::fail, which each binding defines: it must not return (a JS Error
// in the browser, where C++ exceptions are disabled; a Python ValueError natively).

#ifndef CROWDPLAY_EMULATOR_HPP
#define CROWDPLAY_EMULATOR_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "two_player.hpp"

namespace ale {
class ALEInterface;
}

namespace crowdplay {

/** Reports a broken precondition to the caller; defined by each binding, never returns. */
[[noreturn]] void fail(const std::string& message);

constexpr int kNumActions = 18;             // ALE's full joystick action set, 0..17
constexpr size_t kMaxRomSize = 512 * 1024;  // OSystem.cxx MAX_ROM_SIZE (gzread truncates beyond)
constexpr size_t kRamSize = 128;

/** One ALE instance. Created per episode; configure -> loadRom -> setModeAndDifficulty -> resetGame. */
class Emulator {
 public:
  Emulator();
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  /** The normative settings, in the verifier's order. Must precede loadRom. */
  std::string configure(int seed, float repeatActionProbability, int maxNumFramesPerEpisode);

  /**
   * Loads the ROM file at `path`, whose contents are `bytes`, after checking that ALE resolves
   * `name` + the bytes' MD5 to a supported ROM with exactly that MD5 (what
   * ALEInterface::isSupportedROM checks; an unsupported ROM would make loadROM exit(1)) and that
   * this ROM's ALE id is `name` (the ale-py ROM id, e.g. "space_invaders"). The browser writes
   * the bytes it fetched to `path` first; the verifier passes the installed ROM's file.
   */
  std::string loadRom(const std::string& name, const std::string& bytes, const std::string& path);

  /** loadRom's checks alone: "" when `bytes` are ALE's supported ROM `name`, else the error. */
  std::string checkRom(const std::string& name, const std::string& bytes) const;

  /** Validates, then setMode(mode) and setDifficulty(difficulty) as the verifier does. */
  std::string setModeAndDifficulty(unsigned mode, unsigned difficulty);

  /**
   * A two-player mode of the game's table (two_player.hpp; ALE 0.12.1 refuses them all):
   * validates, then setDifficulty(difficulty) now and the mode entered at every resetGame.
   */
  std::string setTwoPlayerModeAndDifficulty(unsigned mode, unsigned difficulty);

  /**
   * ALEInterface::reset_game: new episode, the sticky-action RNG is NOT reseeded. In a
   * two-player mode, the mode is then entered (SELECT presses, a soft reset).
   */
  void resetGame();

  /** Whether a two-player mode is selected (act2 and rewardB then follow its rules). */
  bool twoPlayer() const { return rules_ != nullptr; }
  /** Player B's reward on the last act2 frame (0 outside a two-player mode). */
  int rewardB() const { return rules_ ? rules_->rewardB() : 0; }
  /** Player A's reward on the last act2 frame by the two-player rules (tests compare it to ALE's). */
  int rulesRewardA() const { return rules_ ? rules_->rewardA() : 0; }
  /** Player B's lives (0 outside a two-player mode or in games without lives). */
  int livesB() const { return rules_ ? rules_->livesB() : 0; }

  /** One frame for player A; identical to ale_py's ale.act(a). Returns player A's reward. */
  int act(int a);

  /**
   * One frame for both players: environment->act(a, b + PLAYER_B_NOOP, 1.0, 1.0).
   * Returns player A's reward as ALE computes it (ALE 0.12.1 tracks player A's score only).
   */
  int act2(int a, int b);

  /** Terminal without truncation: ale.game_over(with_truncation=False), or the two-player rules'. */
  bool gameOver() const;
  bool truncated() const;
  int lives();
  int episodeFrameNumber() const;
  int frameNumber() const;
  const std::string& romMd5() const { return romMd5_; }

  std::vector<int> availableModes() const;
  std::vector<int> availableDifficulties() const;
  std::vector<int> minimalActionSet() const;

  /** The 128 bytes of RAM (valid until the next frame). */
  const uint8_t* ram() const;
  std::string setRam(int index, int value);

  /** Checkpoint digest: hex of the first 8 bytes of SHA-256 over the 128 RAM bytes. */
  std::string ramDigest() const;

  /** Full state including the sticky-action RNG (cloneState(true)), framed with a header. */
  std::string saveState();
  /** Restores a blob from saveState() of this build and ROM; returns "" or an error. */
  std::string loadState(const std::string& blob);

  int screenWidth() const;
  int screenHeight() const;
  /** ALE's palette indices, width*height bytes (valid until the next frame). */
  const uint8_t* screenIndices() const;
  /** The screen as RGBA (palette applied, alpha 255), width*height*4 bytes, owned here. */
  const std::vector<uint8_t>& screenRGBA();
  /** The screen as RGB, width*height*3 bytes, owned here. */
  const std::vector<uint8_t>& screenRGB();
  /** The screen as ALE's grayscale palette values, width*height bytes, owned here. */
  const std::vector<uint8_t>& screenGrayscale();

 private:
  void requireRom() const;

  void enterTwoPlayerMode();
  std::string checkDifficulty(unsigned difficulty) const;

  std::unique_ptr<ale::ALEInterface> ale_;
  bool loaded_ = false;
  std::string rom_;
  int twoPlayerMode_ = -1;
  std::unique_ptr<TwoPlayerRules> rules_;
  std::string romMd5_;
  std::vector<uint8_t> rgb_, rgba_, gray_;
};

}  // namespace crowdplay

#endif  // CROWDPLAY_EMULATOR_HPP
