// Two rollback sessions through a simulated network: node wasm/rollback_sim.mjs IN.json OUT.json [--roms DIR]
//
// Both participants of a two-player game run client/js/rollback.mjs on their own WebAssembly
// emulator, each on its own 60 Hz clock, with human-like inputs (an action of the game's minimal
// set held for 80-400 ms, changed at random instants). They exchange messages as
// docs/two-players.md says, through a simulated relay: every message from a seat to the relay (uplink) and from the relay to a seat
// (downlink) is delayed by `mean ± spread` ms drawn uniformly, in order on each link as over a
// WebSocket; `spikes` add a long delay on a seat's uplink for a while. The relay forwards inputs,
// and compares each seat's checkpoint digests with its own straight replay of the pair's actions
// (the server's live replay): a seat whose digest differs gets `desync`, asks its partner for the
// state (`state_request`, `state`) and resynchronises. `corrupt` makes one seat's confirmed
// emulator play one extra frame after frame N (a desync that no rollback undoes).
//
// IN = {"game", "mode", "seed", "difficulty", "repeat_action_probability",
//       "max_num_frames_per_episode", "checkpoint_interval", "frames" (game frames to play),
//       "input_seed", "net_seed", "uplink": {"mean", "spread"}, "downlink": {"mean", "spread"},
//       optional "start_offset_ms" (seat 1 starts later), "spikes": [{"seat", "from_ms",
//       "to_ms", "extra_ms"}], "corrupt": {"seat", "frame"}}.
// OUT = JSON: per seat its confirmed log, the checkpoints it emitted (first and final value per
// frame), its end, rollback statistics and input latencies; the relay's desyncs; and a straight
// replay of the final action pair through a fresh emulator (checkpoints and end). The Python test
// (tests/wasm/test_rollback.py) compares them.
import { readFileSync, writeFileSync } from "node:fs";

import { RollbackSession } from "../client/js/rollback.mjs";
import { AleError, createEmulator, loadAle } from "./engine.mjs";
import { parseArgs, readRom, romDir, runCli } from "./roms.mjs";
import { mulberry32 } from "./random.mjs";

const FRAME_MS = 1000 / 60;
/** Simulated time after which the run gives up waiting for both seats to confirm the end. */
const GRACE_MS = 30_000;

/** A min-heap of timed events; equal times keep their insertion order. */
class Queue {
  constructor() {
    this.items = [];
    this.count = 0;
  }

  push(at, run) {
    const item = { at, n: this.count++, run };
    const h = this.items;
    h.push(item);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (before(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  pop() {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }

  get size() {
    return this.items.length;
  }
}

const before = (x, y) => x.at < y.at || (x.at === y.at && x.n < y.n);

/** A one-way link: each message is delayed, and never overtakes the one sent before it. */
class Link {
  constructor(queue, { mean, spread }, rng, spikes = []) {
    this.queue = queue;
    this.mean = mean;
    this.spread = spread;
    this.rng = rng;
    this.spikes = spikes;
    this.last = 0;
    this.sent = 0;
  }

  send(now, deliver) {
    let delay = this.mean + (2 * this.rng() - 1) * this.spread;
    for (const s of this.spikes) if (now >= s.from_ms && now < s.to_ms) delay += s.extra_ms;
    const at = Math.max(now + Math.max(0, delay), this.last);
    this.last = at;
    this.sent += 1;
    // A copy, as JSON over a WebSocket would make: the receiver never shares the sender's arrays.
    const copy = structuredClone(deliver.message);
    this.queue.push(at, () => deliver.to(copy));
  }
}

/**
 * Human-like input for one seat: an action of the game's minimal set held for 80-400 ms, changed
 * at random instants (not on frame boundaries).
 */
function inputSchedule(seed, untilMs, actions) {
  const rng = mulberry32(seed);
  const changes = [{ atMs: 0, action: 0 }];
  for (let t = 80 + rng() * 320; t < untilMs; t += 80 + rng() * 320) {
    changes.push({ atMs: t, action: actions[Math.floor(rng() * actions.length)] });
  }
  return changes;
}

runCli(async () => {
  const { positional, options } = parseArgs(process.argv.slice(2));
  if (positional.length !== 2) throw new AleError("usage: node wasm/rollback_sim.mjs IN.json OUT.json [--roms DIR]");
  const [inPath, outPath] = positional;
  const spec = JSON.parse(readFileSync(inPath, "utf8"));
  const env = {
    game: spec.game,
    mode: spec.mode,
    difficulty: spec.difficulty ?? 0,
    repeat_action_probability: spec.repeat_action_probability,
    frameskip: 1,
    max_num_frames_per_episode: spec.max_num_frames_per_episode,
    players: 2,
  };
  const interval = spec.checkpoint_interval;
  const target = spec.frames;
  const romBytes = readRom(romDir(options.roms), spec.game);
  const module = await loadAle();
  const fresh = () => createEmulator(module, { romBytes, env, seed: spec.seed });

  const queue = new Queue();
  const netRng = mulberry32(spec.net_seed);
  const spikes = spec.spikes ?? [];
  const up = [0, 1].map((s) => new Link(queue, spec.uplink, netRng, spikes.filter((x) => x.seat === s)));
  const down = [0, 1].map(() => new Link(queue, spec.downlink, netRng));
  const horizonMs = (target / 60) * 1000 * 3;

  // ---- the relay: forwards, keeps the pair's actions, replays them and compares digests ----
  const relay = {
    actions: [[], []],
    authority: fresh(),
    replayed: 0,
    totals: [0, 0],
    digests: new Map(),
    desyncs: [],
    /** Per seat: a desync was sent and no matching digest came since. */
    open: [false, false],
    received: [new Map(), new Map()],
  };
  const toSeat = (seat, message, now) => down[seat].send(now, { message, to: (m) => clients[seat].onMessage(m, queueNow()) });
  const authorityDigest = (k) => {
    while (relay.replayed < k) {
      const f = relay.replayed;
      const rewards = relay.authority.act([relay.actions[0][f], relay.actions[1][f]]);
      relay.totals[0] += rewards[0];
      relay.totals[1] += rewards[1];
      relay.replayed += 1;
      if (relay.replayed % interval === 0) relay.digests.set(relay.replayed, { digest: relay.authority.ramDigest(), rewards: [...relay.totals] });
    }
    return relay.digests.get(k);
  };
  const onRelay = (seat, message, now) => {
    const other = 1 - seat;
    switch (message.type) {
      case "inputs":
        if (message.start !== relay.actions[seat].length) throw new Error(`seat ${seat} sent inputs from ${message.start}, relay has ${relay.actions[seat].length}`);
        relay.actions[seat].push(...message.actions);
        toSeat(other, { type: "partner_inputs", start: message.start, actions: message.actions }, now);
        break;
      case "digest": {
        const k = message.frame;
        if (relay.actions[0].length < k || relay.actions[1].length < k) throw new Error(`seat ${seat} sent a digest at ${k} before the relay had both seats' actions`);
        const expected = authorityDigest(k);
        const agrees = expected.digest === message.digest && expected.rewards.every((r, p) => r === message.rewards[p]);
        relay.received[seat].set(k, agrees);
        if (agrees) {
          relay.open[seat] = false;
        } else if (!relay.open[seat]) {
          relay.open[seat] = true;
          relay.desyncs.push({ seat, frame: k, atMs: now });
          toSeat(seat, { type: "desync", frame: k, expected: expected.digest }, now);
        }
        break;
      }
      case "state_request":
      case "state":
        toSeat(other, message, now);
        break;
      case "end":
        break;
      default:
        throw new Error(`unexpected message ${message.type}`);
    }
  };

  // ---- the two participants ----
  let currentMs = 0;
  const queueNow = () => currentMs;
  const clients = [0, 1].map((seat) => {
    const base = fresh();
    let exact = base;
    const corrupt = spec.corrupt?.seat === seat ? spec.corrupt.frame : null;
    if (corrupt !== null) {
      // The confirmed emulator plays one extra frame after frame `corrupt`: a desync that only a
      // state from the partner repairs.
      exact = { ...base, act: (actions) => {
        const rewards = base.act(actions);
        if (base.frame() === corrupt) base.act([0, 0]);
        return rewards;
      } };
    }
    const session = new RollbackSession({ confirmed: exact, present: fresh() }, { seat, checkpointInterval: interval });
    const startMs = seat === 1 ? (spec.start_offset_ms ?? 0) : 0;
    const schedule = inputSchedule(spec.input_seed * 2 + seat, horizonMs + startMs, base.minimalActionSet()).map((c) => ({ ...c, atMs: c.atMs + startMs }));
    const client = {
      seat,
      session,
      schedule,
      next: 0, // index of the first change not yet in effect
      action: 0,
      presses: [], // presses not yet applied: their times
      latencies: [], // ms from each press to the frame that first used it
      firstCheckpoints: new Map(),
      finalCheckpoints: new Map(),
      end: null,
      pendingRequests: [],
      resyncing: false,
      sentEnd: false,
      ticks: 0,
      send(message, now) {
        up[seat].send(now, { message, to: (m) => onRelay(seat, m, queueNow()) });
      },
      onMessage(message, now) {
        switch (message.type) {
          case "partner_inputs":
            session.receive(message.start, message.actions);
            break;
          case "desync":
            if (!client.resyncing) {
              client.resyncing = true;
              client.send({ type: "state_request", frame: message.frame }, now);
            }
            break;
          case "state_request":
            client.pendingRequests.push(message.frame);
            break;
          case "state":
            session.resync(message.frame, Uint8Array.from(Buffer.from(message.blob, "base64")), message.rewards);
            client.resyncing = false;
            break;
        }
        client.flush(now);
      },
      /** Sends what the session emitted and answers the state requests it can. */
      flush(now) {
        for (const event of session.drain()) {
          if (event.type === "checkpoint") {
            if (!client.firstCheckpoints.has(event.frame)) client.firstCheckpoints.set(event.frame, event);
            client.finalCheckpoints.set(event.frame, event);
            client.send({ type: "digest", frame: event.frame, digest: event.digest, rewards: event.rewards }, now);
          } else {
            client.end = event;
            client.send({ type: "end", frame: event.frame, reason: event.reason }, now);
          }
        }
        client.pendingRequests = client.pendingRequests.filter((k) => {
          const state = session.stateAt(k);
          if (state === null) return true;
          client.send({ type: "state", frame: k, blob: Buffer.from(state.blob).toString("base64"), rewards: state.rewards }, now);
          return false;
        });
      },
      tick(now) {
        client.ticks += 1;
        while (client.next < schedule.length && schedule[client.next].atMs <= now) {
          client.action = schedule[client.next].action;
          client.presses.push(schedule[client.next].atMs);
          client.next += 1;
        }
        if (session.frame < target && session.advance(client.action)) {
          for (const at of client.presses) client.latencies.push(now - at);
          client.presses = [];
          const f = session.frame;
          client.send({ type: "inputs", start: f - 1, actions: [session.local[f - 1]] }, now);
        }
        client.flush(now);
        if (!client.done()) queue.push(now + FRAME_MS * session.pace, () => client.tick(queueNow()));
      },
      done() {
        return session.ended !== null || (session.confirmed >= target && !client.resyncing && !relay.open[seat]);
      },
    };
    queue.push(startMs, () => client.tick(queueNow()));
    return client;
  });

  while (queue.size > 0) {
    const event = queue.pop();
    currentMs = event.at;
    if (currentMs > horizonMs + GRACE_MS) break;
    event.run();
  }

  // ---- a straight replay of the final action pair ----
  const logs = clients.map((c) => c.session.log());
  const n = Math.min(...logs.map((l) => l[0].length));
  const straight = fresh();
  const replay = { checkpoints: [], end: null, rewards: [0, 0] };
  for (let f = 1; f <= n; f++) {
    const rewards = straight.act([logs[0][0][f - 1], logs[0][1][f - 1]]);
    replay.rewards[0] += rewards[0];
    replay.rewards[1] += rewards[1];
    if (f % interval === 0) replay.checkpoints.push({ frame: f, digest: straight.ramDigest(), rewards: [...replay.rewards] });
    if (straight.gameOver()) replay.end = { frame: f, reason: "game_over" };
    else if (straight.truncated()) replay.end = { frame: f, reason: "truncated" };
    if (replay.end !== null) break;
  }

  const summarise = (values) => {
    const frames = values.map((ms) => ms / FRAME_MS).sort((a, b) => a - b);
    const at = (q) => frames[Math.min(frames.length - 1, Math.floor(q * frames.length))] ?? 0;
    return { presses: frames.length, within_one_frame: frames.filter((x) => x <= 1 + 1e-9).length, p50: at(0.5), p99: at(0.99), max: frames[frames.length - 1] ?? 0 };
  };
  const out = {
    sim_ms: currentMs,
    seats: clients.map((c) => ({
      log: c.session.log(),
      frames: c.session.frame,
      confirmed: c.session.confirmed,
      end: c.end,
      first_checkpoints: [...c.firstCheckpoints.values()],
      checkpoints: [...c.finalCheckpoints.values()],
      stats: c.session.summary(),
      latency_frames: summarise(c.latencies),
      ticks: c.ticks,
      messages_sent: up[c.seat].sent,
    })),
    desyncs: relay.desyncs,
    replay,
  };
  writeFileSync(outPath, JSON.stringify(out));
});
