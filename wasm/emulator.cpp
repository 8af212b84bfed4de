// The emulator both bindings expose; see emulator.hpp.

#include "emulator.hpp"

#include <algorithm>
#include <cstring>
#include <sstream>

#include "ale/ale_interface.hpp"
#include "ale/common/Log.hpp"
#include "ale/emucore/MD5.hxx"
#include "ale/games/Roms.hpp"
#include "sha256.hpp"

namespace crowdplay {
namespace {

// saveState blob: magic, then the ROM's MD5 (32 hex chars), then SHA-256 of the payload, then
// the payload: ALEState::serialize, then our trailer (below). The header lets loadState reject a
// truncated, corrupted or foreign blob up front; ALE's Deserializer would otherwise throw (=
// abort) or restore garbage.
constexpr char kStateMagic[8] = {'C', 'P', 'A', 'L', 'E', 'S', 'T', '2'};
constexpr size_t kStateHeader = sizeof(kStateMagic) + 32 + 32;

// ALE's cloneState leaves out what StellaEnvironment::act remembers between frames: the action
// each player's stick last applied (a sticky action repeats it) and the paddle strengths. A state
// restored without them continues differently from the game it was saved from on the first
// sticky frame. They are private members; the explicit instantiation below is the standard's way
// to name them ([temp.spec.general]: access is not checked in explicit instantiations).
template <typename Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};
struct PlayerAAction { using type = ale::Action ale::StellaEnvironment::*; friend type member(PlayerAAction); };
struct PlayerBAction { using type = ale::Action ale::StellaEnvironment::*; friend type member(PlayerBAction); };
struct PaddleAStrength { using type = float ale::StellaEnvironment::*; friend type member(PaddleAStrength); };
struct PaddleBStrength { using type = float ale::StellaEnvironment::*; friend type member(PaddleBStrength); };
template struct Expose<PlayerAAction, &ale::StellaEnvironment::m_player_a_action>;
template struct Expose<PlayerBAction, &ale::StellaEnvironment::m_player_b_action>;
template struct Expose<PaddleAStrength, &ale::StellaEnvironment::m_paddle_a_strength>;
template struct Expose<PaddleBStrength, &ale::StellaEnvironment::m_paddle_b_strength>;

// The trailer: the four values above, then the two-player rules' memory (count, then values),
// then the trailer's own length; every number a little-endian int32 (floats by their bits).
void putInt(std::string& out, int32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((static_cast<uint32_t>(value) >> (8 * i)) & 0xFF));
}

int32_t getInt(const std::string& in, size_t at) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return static_cast<int32_t>(value);
}

int32_t floatBits(float value) {
  int32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float bitsFloat(int32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
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
std::vector<int> toInts(const std::vector<T>& values) {
  return std::vector<int>(values.begin(), values.end());
}

bool isRomName(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
         });
}

void requireAction(int action, const char* player) {
  if (action < 0 || action >= kNumActions) {
    fail(std::string("Emulator: action for player ") + player + " is " + std::to_string(action) +
         ", expected 0..17");
  }
}

}  // namespace

Emulator::Emulator() {
  // ALE logs to stderr at Info level by default (welcome banner, ROM details).
  ale::Logger::setMode(ale::Logger::Error);
  ale_ = std::make_unique<ale::ALEInterface>();
}

Emulator::~Emulator() = default;

std::string Emulator::configure(int seed, float repeatActionProbability, int maxNumFramesPerEpisode) {
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

std::string Emulator::checkRom(const std::string& name, const std::string& bytes) const {
  if (loaded_) return "a ROM is already loaded; create a new Emulator";
  if (!isRomName(name)) return "ROM name must match [a-z0-9_]{1,64}, got '" + name + "'";
  if (bytes.empty() || bytes.size() > kMaxRomSize) {
    return "ROM size " + std::to_string(bytes.size()) + " is outside 1.." + std::to_string(kMaxRomSize);
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  std::string md5 = ale::stella::MD5(data, static_cast<uint32_t>(bytes.size()));
  std::unique_ptr<ale::RomSettings> wrapper(ale::buildRomRLWrapper("/roms/" + name + ".bin", md5));
  if (!wrapper || wrapper->md5() != md5) {
    return "unsupported ROM: '" + name + "' with md5 " + md5 + " is not a ROM supported by ALE " ALE_VERSION;
  }
  if (wrapper->rom() != name) {  // ALE matches by md5 or by name: the bytes are another game
    return "ROM mismatch: the bytes given for '" + name + "' (md5 " + md5 + ") are ALE's '" + wrapper->rom() + "'";
  }
  return "";
}

std::string Emulator::loadRom(const std::string& name, const std::string& bytes, const std::string& path) {
  std::string error = checkRom(name, bytes);
  if (!error.empty()) return error;
  ale_->loadROM(path);
  rom_ = name;
  romMd5_ = ale::stella::MD5(reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<uint32_t>(bytes.size()));
  loaded_ = true;
  return "";
}

std::string Emulator::setModeAndDifficulty(unsigned mode, unsigned difficulty) {
  requireRom();
  ale::ModeVect modes = ale_->getAvailableModes();
  if (std::find(modes.begin(), modes.end(), mode) == modes.end()) {
    return "invalid mode " + std::to_string(mode) + "; valid modes: " + joinList(modes);
  }
  std::string error = checkDifficulty(difficulty);
  if (!error.empty()) return error;
  ale_->setMode(mode);
  ale_->setDifficulty(difficulty);
  twoPlayerMode_ = -1;
  rules_.reset();
  return "";
}

std::string Emulator::setTwoPlayerModeAndDifficulty(unsigned mode, unsigned difficulty) {
  requireRom();
  const TwoPlayerGame* game = findTwoPlayerGame(rom_);
  if (game == nullptr) return rom_ + " has no two-player mode CrowdPlay knows";
  if (std::find(game->modes.begin(), game->modes.end(), static_cast<int>(mode)) == game->modes.end()) {
    return "invalid two-player mode " + std::to_string(mode) + " of " + rom_ + "; valid: " + joinList(game->modes);
  }
  std::string error = checkDifficulty(difficulty);
  if (!error.empty()) return error;
  ale_->setDifficulty(difficulty);
  twoPlayerMode_ = static_cast<int>(mode);
  rules_ = std::make_unique<TwoPlayerRules>(*game);
  return "";
}

std::string Emulator::checkDifficulty(unsigned difficulty) const {
  ale::DifficultyVect difficulties = ale_->getAvailableDifficulties();
  if (std::find(difficulties.begin(), difficulties.end(), difficulty) == difficulties.end()) {
    return "invalid difficulty " + std::to_string(difficulty) + "; valid difficulties: " + joinList(difficulties);
  }
  return "";
}

void Emulator::resetGame() {
  requireRom();
  ale_->reset_game();
  if (rules_) enterTwoPlayerMode();
}

void Emulator::enterTwoPlayerMode() {
  const TwoPlayerGame* game = findTwoPlayerGame(rom_);
  int target = twoPlayerMode_ - game->modeOffset;
  const auto& memory = ale_->getRAM();
  for (int presses = 0; memory.get(game->modeAddress & 0x7F) != target; ++presses) {
    if (presses == 256) fail("two-player mode " + std::to_string(twoPlayerMode_) + " of " + rom_ + " was never reached");
    ale_->environment->pressSelect(game->selectFrames);
  }
  ale_->environment->softReset();
  rules_->reset(ale_->getRAM().array());
}

int Emulator::act(int a) {
  requireRom();
  requireAction(a, "a");
  return ale_->act(static_cast<ale::Action>(a));
}

int Emulator::act2(int a, int b) {
  requireRom();
  requireAction(a, "a");
  requireAction(b, "b");
  int reward = ale_->environment->act(static_cast<ale::Action>(a),
                                     static_cast<ale::Action>(b + ale::PLAYER_B_NOOP), 1.0f, 1.0f);
  if (rules_) rules_->step(ale_->getRAM().array());
  return reward;
}

bool Emulator::gameOver() const {
  requireRom();
  return ale_->game_over(false) || (rules_ && rules_->terminal());
}
bool Emulator::truncated() const { requireRom(); return ale_->game_truncated(); }
int Emulator::lives() { requireRom(); return ale_->lives(); }
int Emulator::episodeFrameNumber() const { requireRom(); return ale_->getEpisodeFrameNumber(); }
int Emulator::frameNumber() const { requireRom(); return ale_->getFrameNumber(); }

std::vector<int> Emulator::availableModes() const { requireRom(); return toInts(ale_->getAvailableModes()); }
std::vector<int> Emulator::availableDifficulties() const {
  requireRom();
  return toInts(ale_->getAvailableDifficulties());
}
std::vector<int> Emulator::minimalActionSet() const { requireRom(); return toInts(ale_->getMinimalActionSet()); }

const uint8_t* Emulator::ram() const {
  requireRom();
  return ale_->getRAM().array();
}

std::string Emulator::setRam(int index, int value) {
  requireRom();
  if (index < 0 || index >= static_cast<int>(kRamSize)) return "RAM index " + std::to_string(index) + " outside 0..127";
  if (value < 0 || value > 255) return "RAM value " + std::to_string(value) + " outside 0..255";
  ale_->setRAM(static_cast<size_t>(index), static_cast<ale::byte_t>(value));
  return "";
}

std::string Emulator::ramDigest() const {
  requireRom();
  auto digest = sha256(ale_->getRAM().array(), kRamSize);
  return hex(digest.data(), 8);
}

std::string Emulator::saveState() {
  requireRom();
  std::string payload = ale_->cloneState(true).serialize();
  ale::StellaEnvironment& env = *ale_->environment;
  std::string trailer;
  putInt(trailer, static_cast<int32_t>(env.*member(PlayerAAction{})));
  putInt(trailer, static_cast<int32_t>(env.*member(PlayerBAction{})));
  putInt(trailer, floatBits(env.*member(PaddleAStrength{})));
  putInt(trailer, floatBits(env.*member(PaddleBStrength{})));
  std::vector<int> rules = rules_ ? rules_->memory() : std::vector<int>();
  putInt(trailer, static_cast<int32_t>(rules.size()));
  for (int value : rules) putInt(trailer, value);
  putInt(trailer, static_cast<int32_t>(trailer.size() + 4));
  payload += trailer;
  auto digest = sha256(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  std::string blob(kStateMagic, sizeof(kStateMagic));
  blob += romMd5_;
  blob.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  blob += payload;
  return blob;
}

std::string Emulator::loadState(const std::string& blob) {
  requireRom();
  if (blob.size() <= kStateHeader || blob.compare(0, sizeof(kStateMagic), kStateMagic, sizeof(kStateMagic)) != 0) {
    return "not a CrowdPlay ALE state blob (of this version)";
  }
  if (blob.compare(sizeof(kStateMagic), 32, romMd5_) != 0) {
    return "state was saved for ROM md5 " + blob.substr(sizeof(kStateMagic), 32) + ", loaded ROM is " + romMd5_;
  }
  std::string payload = blob.substr(kStateHeader);
  auto digest = sha256(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  if (blob.compare(sizeof(kStateMagic) + 32, 32, reinterpret_cast<const char*>(digest.data()), 32) != 0) {
    return "state blob is corrupted (checksum mismatch)";
  }
  // The checksum vouches for the bytes; the lengths are still checked before they are used.
  if (payload.size() < 24) return "state blob is too short";
  int32_t trailerSize = getInt(payload, payload.size() - 4);
  if (trailerSize < 24 || static_cast<size_t>(trailerSize) > payload.size()) return "state blob has a bad trailer";
  size_t at = payload.size() - static_cast<size_t>(trailerSize);
  int32_t count = getInt(payload, at + 16);
  if (count < 0 || 24 + 4 * static_cast<size_t>(count) != static_cast<size_t>(trailerSize)) {
    return "state blob has a bad trailer";
  }
  std::vector<int> rules;
  for (int32_t i = 0; i < count; ++i) rules.push_back(getInt(payload, at + 20 + 4 * static_cast<size_t>(i)));
  if (rules_ ? !rules_->restore(rules) : !rules.empty()) {
    return "state was saved in another player mode";
  }
  ale_->restoreState(ale::ALEState(payload.substr(0, at)));
  ale::StellaEnvironment& env = *ale_->environment;
  env.*member(PlayerAAction{}) = static_cast<ale::Action>(getInt(payload, at));
  env.*member(PlayerBAction{}) = static_cast<ale::Action>(getInt(payload, at + 4));
  env.*member(PaddleAStrength{}) = bitsFloat(getInt(payload, at + 8));
  env.*member(PaddleBStrength{}) = bitsFloat(getInt(payload, at + 12));
  return "";
}

int Emulator::screenWidth() const { requireRom(); return static_cast<int>(ale_->getScreen().width()); }
int Emulator::screenHeight() const { requireRom(); return static_cast<int>(ale_->getScreen().height()); }

const uint8_t* Emulator::screenIndices() const {
  requireRom();
  return ale_->getScreen().getArray();
}

const std::vector<uint8_t>& Emulator::screenRGB() {
  requireRom();
  const ale::ALEScreen& screen = ale_->getScreen();
  size_t pixels = screen.width() * screen.height();
  rgb_.resize(pixels * 3);
  ale_->theOSystem->colourPalette().applyPaletteRGB(rgb_.data(), screen.getArray(), pixels);
  return rgb_;
}

const std::vector<uint8_t>& Emulator::screenRGBA() {
  const std::vector<uint8_t>& rgb = screenRGB();
  size_t pixels = rgb.size() / 3;
  rgba_.resize(pixels * 4);
  for (size_t i = 0; i < pixels; ++i) {
    rgba_[4 * i] = rgb[3 * i];
    rgba_[4 * i + 1] = rgb[3 * i + 1];
    rgba_[4 * i + 2] = rgb[3 * i + 2];
    rgba_[4 * i + 3] = 255;
  }
  return rgba_;
}

const std::vector<uint8_t>& Emulator::screenGrayscale() {
  requireRom();
  const ale::ALEScreen& screen = ale_->getScreen();
  size_t pixels = screen.width() * screen.height();
  gray_.resize(pixels);
  ale_->theOSystem->colourPalette().applyPaletteGrayscale(gray_.data(), screen.getArray(), pixels);
  return gray_;
}

void Emulator::requireRom() const {
  if (!loaded_) fail("Emulator: no ROM loaded (call configure, then loadRom)");
}

}  // namespace crowdplay
