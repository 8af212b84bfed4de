// Node-only: where the command-line tools find ROMs. The build never contains a ROM.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { AleError } from "./engine.mjs";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/**
 * The ROM folder: `--roms DIR` if given, else $CROWDPLAY_ROM_DIR, else the ale-py wheel's
 * roms/ in <repo>/.venv/lib/python3.X/site-packages/ale_py/roms.
 */
export function romDir(cliDir) {
  if (cliDir) return cliDir;
  if (process.env.CROWDPLAY_ROM_DIR) return process.env.CROWDPLAY_ROM_DIR;
  const lib = join(REPO, ".venv", "lib");
  const pythons = existsSync(lib) ? readdirSync(lib).filter((d) => /^python3/.test(d)).sort() : [];
  for (const py of pythons) {
    const dir = join(lib, py, "site-packages", "ale_py", "roms");
    if (existsSync(dir)) return dir;
  }
  throw new AleError("no ROM folder: pass --roms DIR, set CROWDPLAY_ROM_DIR, or install ale-py into <repo>/.venv");
}

/** Reads <dir>/<game>.bin as a Uint8Array. */
export function readRom(dir, game) {
  const path = join(dir, `${game}.bin`);
  if (!existsSync(path)) throw new AleError(`ROM not found: ${path}`);
  return new Uint8Array(readFileSync(path));
}

/**
 * Splits argv into positionals and a `--roms DIR` option; any other flag is an error.
 * `extra` names further options that take a value (e.g. ["--game", "--frames"]).
 */
export function parseArgs(argv, extra = []) {
  const positional = [];
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--roms" || extra.includes(arg)) {
      if (i + 1 >= argv.length) throw new AleError(`${arg} needs a value`);
      options[arg.slice(2)] = argv[++i];
    } else if (arg.startsWith("--")) {
      throw new AleError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  return { positional, options };
}

/** Runs main(); an AleError (bad input) exits 2 with a one-line message, anything else is a crash. */
export function runCli(main) {
  main().catch((e) => {
    if (e instanceof AleError || e instanceof SyntaxError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  });
}
