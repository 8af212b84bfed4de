// Two-player games: how to enter their two-player modes, and each player's reward, lives and
// terminal read from RAM. ALE 0.12.1 refuses two-player modes and scores player A only.
//
// Mode entry (normative, docs/log-format.md): after ALE's reset_game in the game's default mode,
// press SELECT (`select_frames` frames, then one NOOP frame: StellaEnvironment::pressSelect)
// until the game's mode byte reads the target, then a soft reset (RESET for 4 frames). No
// sticky-action random number is drawn on these frames, and the frame counters advance as ALE's
// own setMode makes them. RAM facts are from Farama's Multi-Agent-ALE, checked against play in
// tests/verifier/test_two_player.py; addresses are bytes of the 128-byte RAM (addr & 0x7F).

#ifndef CROWDPLAY_TWO_PLAYER_HPP
#define CROWDPLAY_TWO_PLAYER_HPP

#include <cstdint>
#include <string>
#include <vector>

namespace crowdplay {

/** How a game's two-player modes are selected. */
struct TwoPlayerGame {
  const char* rom;            // ALE's ROM id
  uint8_t modeAddress;        // RAM byte that holds the selected game variation
  int modeOffset;             // that byte reads mode - modeOffset
  int selectFrames;           // frames SELECT is held per press
  std::vector<int> modes;     // the two-player modes (PettingZoo's numbering)
};

/** The two-player description of `rom`, or nullptr when it has none. */
const TwoPlayerGame* findTwoPlayerGame(const std::string& rom);

/** Player A's and player B's rewards, lives and the game's end, from RAM after each frame. */
class TwoPlayerRules {
 public:
  explicit TwoPlayerRules(const TwoPlayerGame& game) : game_(game) {}

  /** Start of an episode (after the mode entry): remember the scores. */
  void reset(const uint8_t* ram);
  /** After one frame: the frame's rewards, the lives, and whether the game is over. */
  void step(const uint8_t* ram);

  int rewardA() const { return reward_[0]; }
  int rewardB() const { return reward_[1]; }
  int livesA() const { return lives_[0]; }
  int livesB() const { return lives_[1]; }
  bool terminal() const { return terminal_; }

  /** What the rules remember between frames (the last scores and rewards), for a saved state. */
  std::vector<int> memory() const;
  /** Restores memory() saved with a state; false if it does not have the right size. */
  bool restore(const std::vector<int>& memory);

 private:
  void read(const uint8_t* ram, int score[2]);

  const TwoPlayerGame& game_;
  int score_[2] = {0, 0};
  int reward_[2] = {0, 0};
  int lives_[2] = {0, 0};
  bool terminal_ = false;
};

}  // namespace crowdplay

#endif  // CROWDPLAY_TWO_PLAYER_HPP
