// Two-player games' mode entry table and RAM rules; see two_player.hpp.

#include "two_player.hpp"

#include <algorithm>
#include <cstring>

namespace crowdplay {
namespace {

int ram(const uint8_t* bytes, int address) { return bytes[address & 0x7F]; }

/** Two BCD digits at `address` (ALE's getDecimalScore). */
int decimal(const uint8_t* bytes, int address) {
  int value = ram(bytes, address);
  return 10 * (value >> 4) + (value & 15);
}

/** Four BCD digits: `low` holds tens and ones, `high` thousands and hundreds. */
int decimal(const uint8_t* bytes, int low, int high) {
  return decimal(bytes, low) + 100 * decimal(bytes, high);
}

std::vector<int> range(int first, int last) {
  std::vector<int> out;
  for (int m = first; m <= last; ++m) out.push_back(m);
  return out;
}

const TwoPlayerGame kGames[] = {
    {"space_invaders", 0xDC, 1, 2, range(33, 64)},
    {"pong", 0x96, 1, 2, {3, 4, 9, 10, 13, 14, 19, 20, 23, 24, 25, 26, 27, 28, 35, 36, 39, 40, 43, 44, 45, 46}},
    {"boxing", 0x92, 0, 1, {2}},
    {"tennis", 0x80, 1, 2, {2, 4}},
    {"surround", 0xF9, 1, 2, {1, 5, 6, 7, 8, 9, 10, 11, 12}},
    {"ice_hockey", 0x80, 0, 2, {1, 3}},
};

bool is(const TwoPlayerGame& game, const char* rom) { return std::strcmp(game.rom, rom) == 0; }

}  // namespace

const TwoPlayerGame* findTwoPlayerGame(const std::string& rom) {
  for (const TwoPlayerGame& game : kGames) {
    if (rom == game.rom) return &game;
  }
  return nullptr;
}

// Each game's scores: Space Invaders' are the players' own; in the others, player A's score is
// the difference A - B (as ALE's one-player reward is) and player B's its negation.
void TwoPlayerRules::read(const uint8_t* bytes, int score[2]) {
  if (is(game_, "space_invaders")) {
    score[0] = decimal(bytes, 0xE8, 0xE6);
    score[1] = decimal(bytes, 0xE9, 0xE7);
  } else if (is(game_, "pong")) {
    score[0] = ram(bytes, 14) - ram(bytes, 13);
  } else if (is(game_, "boxing")) {
    int a = ram(bytes, 0x92) == 0xC0 ? 100 : decimal(bytes, 0x92);
    int b = ram(bytes, 0x93) == 0xC0 ? 100 : decimal(bytes, 0x93);
    score[0] = a - b;
  } else if (is(game_, "tennis")) {
    // 0xC7/0xC8 count games, 0xC5/0xC6 points within the game. A frame's reward is the move
    // of the games' difference if it moved, else of the points' (Multi-Agent-ALE's rule).
    score[0] = ram(bytes, 0xC7) - ram(bytes, 0xC8);
    score[1] = ram(bytes, 0xC5) - ram(bytes, 0xC6);
  } else if (is(game_, "surround")) {
    score[0] = decimal(bytes, 0xF7) - decimal(bytes, 0xF6);
  } else if (is(game_, "ice_hockey")) {
    score[0] = std::max(decimal(bytes, 0x8A), 0) - std::max(decimal(bytes, 0x8B), 0);
  }
}

void TwoPlayerRules::reset(const uint8_t* bytes) {
  read(bytes, score_);
  reward_[0] = reward_[1] = 0;
  step(bytes);
  reward_[0] = reward_[1] = 0;
}

void TwoPlayerRules::step(const uint8_t* bytes) {
  int score[2] = {0, 0};
  read(bytes, score);
  if (is(game_, "space_invaders")) {
    for (int p = 0; p < 2; ++p) {
      reward_[p] = score[p] - score_[p];
      if (reward_[p] < 0) reward_[p] = (10000 - score_[p]) + score[p];  // the score wrapped
    }
    lives_[0] = lives_[1] = ram(bytes, 0xC9);
    terminal_ = (ram(bytes, 0x98) & 0x80) || lives_[0] == 0;
  } else if (is(game_, "tennis")) {
    int points = score[0] - score_[0];
    int games = score[1] - score_[1];
    reward_[0] = points != 0 ? points : games;
    reward_[1] = -reward_[0];
    int a = ram(bytes, 0xC7), b = ram(bytes, 0xC8);
    terminal_ = (a >= 6 && a - b >= 2) || (b >= 6 && b - a >= 2) || a == 7 || b == 7;
  } else {
    reward_[0] = score[0] - score_[0];
    reward_[1] = -reward_[0];
    if (is(game_, "pong")) {
      terminal_ = ram(bytes, 13) == 21 || ram(bytes, 14) == 21;
    } else if (is(game_, "boxing")) {
      bool knockout = ram(bytes, 0x92) == 0xC0 || ram(bytes, 0x93) == 0xC0;
      int minutes = ram(bytes, 0x90) >> 4;
      int seconds = decimal(bytes, 0x91);
      terminal_ = knockout || (minutes == 0 && seconds == 0);
    } else if (is(game_, "surround")) {
      terminal_ = decimal(bytes, 0xF6) == 10 || decimal(bytes, 0xF7) == 10;
    } else if (is(game_, "ice_hockey")) {
      terminal_ = ram(bytes, 0x87) == 0 && ram(bytes, 0x86) == 0;
    }
  }
  score_[0] = score[0];
  score_[1] = score[1];
}

std::vector<int> TwoPlayerRules::memory() const {
  return {score_[0], score_[1], reward_[0], reward_[1], lives_[0], lives_[1], terminal_ ? 1 : 0};
}

bool TwoPlayerRules::restore(const std::vector<int>& memory) {
  if (memory.size() != 7) return false;
  score_[0] = memory[0];
  score_[1] = memory[1];
  reward_[0] = memory[2];
  reward_[1] = memory[3];
  lives_[0] = memory[4];
  lives_[1] = memory[5];
  terminal_ = memory[6] != 0;
  return true;
}

}  // namespace crowdplay
