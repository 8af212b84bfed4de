// Prepended (via --extern-pre-js) to ale.js, outside Emscripten's module factory.
// Emscripten 3.1.6's Node code path uses `require("fs"/"path"/"crypto")` and `__dirname`
// even with EXPORT_ES6, and an ES module has neither. Under Node we provide both from
// node:module; in browsers and workers the branch is never taken and they stay
// undefined, exactly as Emscripten's web path expects.
const require =
  typeof process === "object" && typeof process.versions === "object" && typeof process.versions.node === "string"
    ? (await import("node:module")).createRequire(import.meta.url)
    : undefined;
const __dirname = require ? require("node:path").dirname(require("node:url").fileURLToPath(import.meta.url)) : undefined;
