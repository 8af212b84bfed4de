// The verifier's binding: Python module `_emulator` over crowdplay::Emulator (emulator.hpp).
//
// The same emulator as the browser's WebAssembly build, compiled natively from the same pinned
// ALE sources (wasm/build_native.py), so the verifier can act for player B, which ale-py's
// Python API cannot. Only conversions live here: an error string from the core becomes a
// ValueError, bytes go in and out as Python bytes, and the frame loop over a log's action bytes
// runs in C++ without the GIL's per-call overhead.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <tuple>

#include "version.hpp"
#include "emulator.hpp"

namespace py = pybind11;

namespace crowdplay {

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

namespace {

void check(const std::string& error) {
  if (!error.empty()) throw std::invalid_argument(error);
}

py::bytes asBytes(const uint8_t* data, size_t len) {
  return py::bytes(reinterpret_cast<const char*>(data), len);
}

/**
 * Frames start+1 .. stop from per-player action bytes (one player: act, two: act2), stopping
 * after the frame on which the game ends. Returns (frames emulated, player A's reward summed,
 * player B's reward summed).
 */
std::tuple<int, long long, long long> run(Emulator& e, const std::vector<std::string>& actions, size_t start, size_t stop) {
  if (actions.empty() || actions.size() > 2) fail("run takes the action bytes of one or two players");
  for (const std::string& player : actions) {
    if (stop > player.size()) fail("run: stop is past the end of the actions");
  }
  long long totalA = 0, totalB = 0;
  int frames = 0;
  for (size_t i = start; i < stop; ++i) {
    int a = static_cast<uint8_t>(actions[0][i]);
    if (actions.size() == 1) {
      totalA += e.act(a);
    } else {
      totalA += e.act2(a, static_cast<uint8_t>(actions[1][i]));
      totalB += e.rewardB();
    }
    ++frames;
    if (e.gameOver() || e.truncated()) break;
  }
  return {frames, totalA, totalB};
}

}  // namespace
}  // namespace crowdplay

PYBIND11_MODULE(_emulator, m) {
  using crowdplay::Emulator;
  using crowdplay::check;
  m.doc() = "CrowdPlay's emulator (wasm/emulator.hpp) built natively: the verifier's two-player backend.";
  m.attr("ALE_VERSION") = ALE_VERSION;
  py::class_<Emulator>(m, "Emulator")
      .def(py::init<>())
      .def("configure", [](Emulator& e, int seed, float p, int maxFrames) { check(e.configure(seed, p, maxFrames)); })
      .def("load_rom",
           [](Emulator& e, const std::string& name, py::bytes data, const std::string& path) {
             check(e.loadRom(name, std::string(data), path));
           })
      .def("set_mode_and_difficulty",
           [](Emulator& e, unsigned mode, unsigned difficulty) { check(e.setModeAndDifficulty(mode, difficulty)); })
      .def("set_two_player_mode_and_difficulty",
           [](Emulator& e, unsigned mode, unsigned difficulty) {
             check(e.setTwoPlayerModeAndDifficulty(mode, difficulty));
           })
      .def("reset_game", &Emulator::resetGame)
      .def("act", &Emulator::act)
      .def("act2", &Emulator::act2)
      .def("reward_b", &Emulator::rewardB)
      .def("rules_reward_a", &Emulator::rulesRewardA)
      .def("lives_b", &Emulator::livesB)
      .def("two_player", &Emulator::twoPlayer)
      .def("run", &crowdplay::run)
      .def("game_over", &Emulator::gameOver)
      .def("truncated", &Emulator::truncated)
      .def("lives", &Emulator::lives)
      .def("episode_frame_number", &Emulator::episodeFrameNumber)
      .def("frame_number", &Emulator::frameNumber)
      .def("rom_md5", &Emulator::romMd5)
      .def("available_modes", &Emulator::availableModes)
      .def("available_difficulties", &Emulator::availableDifficulties)
      .def("minimal_action_set", &Emulator::minimalActionSet)
      .def("ram", [](const Emulator& e) { return crowdplay::asBytes(e.ram(), crowdplay::kRamSize); })
      .def("set_ram", [](Emulator& e, int index, int value) { check(e.setRam(index, value)); })
      .def("ram_digest", &Emulator::ramDigest)
      .def("save_state", [](Emulator& e) { return py::bytes(e.saveState()); })
      .def("load_state", [](Emulator& e, py::bytes blob) { check(e.loadState(std::string(blob))); })
      .def("screen_width", &Emulator::screenWidth)
      .def("screen_height", &Emulator::screenHeight)
      .def("screen_rgb",
           [](Emulator& e) {
             const auto& rgb = e.screenRGB();
             return crowdplay::asBytes(rgb.data(), rgb.size());
           })
      .def("screen_grayscale", [](Emulator& e) {
        const auto& gray = e.screenGrayscale();
        return crowdplay::asBytes(gray.data(), gray.size());
      });
}
