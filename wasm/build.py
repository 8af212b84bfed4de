#!/usr/bin/env python3
"""Build ALE (from the pinned ale-py sdist) to WebAssembly for CrowdPlay.

Usage::

    python3 wasm/build.py            # build client/build/ale.{js,wasm} if an input changed
    python3 wasm/build.py --repin    # accept a new ale.wasm/ale.js hash into wasm/ale.pin.json

Steps: download the ale-py sdist into .cache/wasm/ and check its sha256, unpack it,
generate version.hpp, compile ALE's core plus our embind shim with em++ (objects cached,
2 parallel jobs), link an ES module factory, then write client/build/ale.build.json and
compare the output hashes with wasm/ale.pin.json.

A build is skipped when the input hash (sdist sha256, shim sources, this file, flags,
``emcc --version``) equals the one recorded in ale.build.json and the outputs on disk
still have the recorded hashes. Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

ALE_VERSION = "0.12.1"
SDIST_URL = (
    "https://files.pythonhosted.org/packages/3e/e8/"
    "e69da8a5fb5feafa9fffb32ed8c2b306b7571b77faf779f61e4eb53304ec/ale_py-0.12.1.tar.gz"
)
SDIST_SHA256 = "c503d574c5983e1063b451201ccb779d935919c0f6bf116fb0f4f8aa4c86d249"

WASM_DIR = Path(__file__).resolve().parent
REPO = WASM_DIR.parent
CACHE = REPO / ".cache" / "wasm"
OUT_DIR = REPO / "client" / "build"
PIN_FILE = WASM_DIR / "ale.pin.json"
BUILD_INFO = OUT_DIR / "ale.build.json"

JOBS = 2

# ALE source folders compiled (relative to src/ale/), plus ale_interface.cpp.
ALE_DIRS = ("common", "emucore", "environment", "games", "games/supported")
# SDL front-end files: only meaningful with SDL_SUPPORT, which we build without.
ALE_SKIP = {
    "common/SDL2.cpp",
    "common/DynamicLoad.cpp",
    "common/ScreenSDL.cpp",
    "common/SoundSDL.cxx",
}

# Our sources. SHIM_SOURCES are compiled; COMPAT_HEADERS are included by ALE's sources.
SHIM_SOURCES = ("emulator.cpp", "two_player.cpp", "js_bindings.cpp", "sha256.cpp")
SHIM_HEADERS = ("emulator.hpp", "two_player.hpp", "sha256.hpp")
COMPAT_HEADERS = ("compat/zlib.h",)

# -DNDEBUG matches ale-py's CMake Release build. No -flto: Emscripten 3.1.6 LTO
# produces signature-mismatch stubs that trap with `unreachable`.
CXXFLAGS = ("-O3", "-std=c++17", "-DNDEBUG", "-Wall", "-Wno-unused-but-set-variable")
LINKFLAGS = (
    "-O3",
    "-lembind",
    "-sMODULARIZE=1",
    "-sEXPORT_ES6=1",
    "-sEXPORT_NAME=createAleModule",
    "-sENVIRONMENT=web,worker,node",
    "-sALLOW_MEMORY_GROWTH=1",
    "-sASSERTIONS=0",
    # Do not install process-wide uncaughtException/unhandledRejection handlers in Node tools.
    "-sNODEJS_CATCH_EXIT=0",
    "-sNODEJS_CATCH_REJECTION=0",
)
# Prepended outside the factory: gives Emscripten's Node code path a `require`
# inside an ES module (see extern-pre.js).
EXTERN_PRE_JS = "extern-pre.js"


class BuildError(Exception):
    """Raised for any failure that should stop the build with a one-line message."""


def log(msg: str) -> None:
    """Prints one progress line."""
    print(f"[wasm] {msg}", flush=True)


def sha256_file(path: Path) -> str:
    """Returns the hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_text(*parts: str) -> str:
    """Returns the hex SHA-256 of strings joined by NUL."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def emcc_env() -> dict[str, str]:
    """Environment for emcc: Debian installs acorn in /usr/share/nodejs, off Node's path."""
    env = dict(os.environ)
    paths = [p for p in env.get("NODE_PATH", "").split(os.pathsep) if p]
    if "/usr/share/nodejs" not in paths:
        paths.append("/usr/share/nodejs")
    env["NODE_PATH"] = os.pathsep.join(paths)
    return env


def emcc_version() -> str:
    """Full `emcc --version` output (part of the input hash); first line is the version."""
    if shutil.which("emcc") is None or shutil.which("em++") is None:
        raise BuildError(
            "emcc/em++ not found: install Emscripten with `just setup` (apt-get install emscripten)"
        )
    proc = subprocess.run(["emcc", "--version"], capture_output=True, text=True, env=emcc_env())
    if proc.returncode != 0:
        raise BuildError(f"`emcc --version` failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def fetch_sdist() -> Path:
    """Download the sdist once into the cache and verify its sha256 (every run)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"ale_py-{ALE_VERSION}.tar.gz"
    if not tarball.exists():
        log(f"downloading {SDIST_URL}")
        tmp = tarball.with_suffix(".part")
        try:
            with urllib.request.urlopen(SDIST_URL, timeout=60) as resp, tmp.open("wb") as f:
                shutil.copyfileobj(resp, f)
        except OSError as e:
            raise BuildError(f"cannot download the ale-py sdist: {e}") from e
        tmp.replace(tarball)
    actual = sha256_file(tarball)
    if actual != SDIST_SHA256:
        raise BuildError(
            f"sdist checksum mismatch for {tarball}: got {actual}, "
            f"expected {SDIST_SHA256}; delete it and rerun"
        )
    return tarball


def unpack_sdist(tarball: Path) -> Path:
    """Unpack into .cache/wasm/src/<sha-prefix>/ (once) and return src/ale's parent (src/)."""
    dest = CACHE / "src" / SDIST_SHA256[:16]
    marker = dest / ".unpacked"
    root = dest / f"ale_py-{ALE_VERSION}" / "src"
    if not marker.exists():
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(dest, filter="data")
        marker.touch()
    return root


def write_version_header(gen_dir: Path, src_root: Path) -> None:
    """Generate version.hpp from version.hpp.in as ale-py's CMake configure_file does."""
    major, minor, patch = ALE_VERSION.split(".")
    text = (src_root / "ale" / "version.hpp.in").read_text()
    for key, value in {
        "ALE_VERSION": ALE_VERSION,
        "ALE_VERSION_MAJOR": major,
        "ALE_VERSION_MINOR": minor,
        "ALE_VERSION_PATCH": patch,
        "ALE_VERSION_GIT_SHA": "",
    }.items():
        text = text.replace(f"@{key}@", value)
    gen_dir.mkdir(parents=True, exist_ok=True)
    path = gen_dir / "version.hpp"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def ale_sources(src_root: Path) -> list[str]:
    """ALE's C++ sources, relative to src/ale/, in a fixed order."""
    ale = src_root / "ale"
    found = ["ale_interface.cpp"]
    for d in ALE_DIRS:
        for p in sorted((ale / d).iterdir()):
            rel = f"{d}/{p.name}"
            if p.suffix in (".cpp", ".cxx") and rel not in ALE_SKIP:
                found.append(rel)
    return found


def source_hash() -> str:
    """Hash over every input except the compiler: sdist, our sources, this file, flags."""
    items = {
        "sdist": SDIST_SHA256,
        "cxxflags": list(CXXFLAGS),
        "linkflags": list(LINKFLAGS),
        "build.py": sha256_file(Path(__file__).resolve()),
    }
    for name in (*SHIM_SOURCES, *SHIM_HEADERS, *COMPAT_HEADERS, EXTERN_PRE_JS):
        items[name] = sha256_file(WASM_DIR / name)
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()


def input_hash(sources: str, version: str) -> str:
    """Hash over everything that determines the outputs: sources plus `emcc --version`."""
    return sha256_text(sources, version)


def compile_one(src: Path, obj: Path, include_dirs: list[Path], prefix_maps: list[str]) -> None:
    """Compile one translation unit; the object appears atomically or not at all."""
    obj.parent.mkdir(parents=True, exist_ok=True)
    tmp = obj.with_suffix(".o.tmp")
    cmd = ["em++", *CXXFLAGS, *prefix_maps]
    for inc in include_dirs:
        cmd += ["-I", str(inc)]
    cmd += ["-c", str(src), "-o", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=emcc_env())
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BuildError(f"compiling {src} failed:\n{proc.stderr.strip()}")
    tmp.replace(obj)


def compile_all(src_root: Path, gen_dir: Path, version: str) -> list[Path]:
    """Compile ALE and shim sources into cached objects; return objects in link order.

    ALE objects live in obj/ale-<key>/ where the key covers the sdist, flags, emcc and
    our zlib stand-in; shim objects are keyed by their own contents as well, so editing
    the shim recompiles only the shim.
    """
    compat_hash = [sha256_file(WASM_DIR / h) for h in COMPAT_HEADERS]
    ale_key = sha256_text(SDIST_SHA256, version, *CXXFLAGS, *compat_hash)[:16]
    shim_key = sha256_text(
        ale_key, *(sha256_file(WASM_DIR / f) for f in (*SHIM_SOURCES, *SHIM_HEADERS))
    )[:16]
    # Map absolute paths to fixed names so nothing machine-specific reaches the objects.
    prefix_maps = [
        f"-ffile-prefix-map={src_root}=ale-src",
        f"-ffile-prefix-map={gen_dir}=ale-gen",
        f"-ffile-prefix-map={WASM_DIR}=wasm",
    ]
    include_dirs = [src_root, gen_dir, WASM_DIR / "compat"]

    jobs: list[tuple[Path, Path]] = []
    for rel in ale_sources(src_root):
        jobs.append((src_root / "ale" / rel, CACHE / "obj" / f"ale-{ale_key}" / (rel + ".o")))
    for name in SHIM_SOURCES:
        jobs.append((WASM_DIR / name, CACHE / "obj" / f"shim-{shim_key}" / (name + ".o")))

    todo = [(s, o) for s, o in jobs if not o.exists()]
    if todo:
        log(f"compiling {len(todo)} of {len(jobs)} sources with {JOBS} jobs")
        pool = concurrent.futures.ThreadPoolExecutor(JOBS)
        try:
            futures = {
                pool.submit(compile_one, s, o, include_dirs, prefix_maps): s for s, o in todo
            }
            for n, fut in enumerate(concurrent.futures.as_completed(futures), 1):
                fut.result()  # re-raises BuildError
                src = futures[fut]
                shown = (
                    src.relative_to(src_root / "ale")
                    if src.is_relative_to(src_root)
                    else f"wasm/{src.name}"
                )
                log(f"[{n}/{len(todo)}] {shown}")
        finally:
            # On an error, stop at once instead of compiling everything still queued.
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        log(f"all {len(jobs)} objects cached")
    for stale in (CACHE / "obj").iterdir():
        if stale.name not in (f"ale-{ale_key}", f"shim-{shim_key}"):
            shutil.rmtree(stale)  # objects of earlier sources or flags
    return [o for _, o in jobs]


def link(objects: list[Path]) -> None:
    """Link ale.js + ale.wasm into a temporary folder, then move both into client/build/."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    tmp_dir = CACHE / "link"
    if tmp_dir.exists():
        shutil.rmtree(tmp_dir)
    tmp_dir.mkdir(parents=True)
    # Relative paths and a fixed cwd keep the link independent of where the repo lives.
    rel_objs = [os.path.relpath(o, CACHE) for o in objects]
    cmd = [
        "em++",
        *LINKFLAGS,
        "--extern-pre-js",
        str(WASM_DIR / EXTERN_PRE_JS),
        *rel_objs,
        "-o",
        "link/ale.js",
    ]
    log("linking ale.js + ale.wasm")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=emcc_env(), cwd=CACHE)
    if proc.returncode != 0:
        raise BuildError(f"link failed:\n{proc.stderr.strip()}")
    for name in ("ale.wasm", "ale.js"):
        shutil.copyfile(tmp_dir / name, OUT_DIR / (name + ".tmp"))
        (OUT_DIR / (name + ".tmp")).replace(OUT_DIR / name)
    shutil.rmtree(tmp_dir)


def output_hashes() -> dict[str, str] | None:
    """Returns the sha256 of ale.wasm and ale.js, or None if either is missing."""
    paths = {name: OUT_DIR / name for name in ("ale.wasm", "ale.js")}
    if not all(p.exists() for p in paths.values()):
        return None
    return {name: sha256_file(p) for name, p in paths.items()}


def check_pin(version_line: str, sources: str, hashes: dict[str, str], repin: bool) -> None:
    """Compare the outputs with wasm/ale.pin.json.

    Same emcc and same sources but different outputs: the build is not reproducible, fail.
    Same emcc but changed sources: the committed pin is stale, fail until --repin.
    Different emcc: outputs may legitimately differ, warn.
    """
    pin = {
        "emcc_version": version_line,
        "ale_version": ALE_VERSION,
        "source_hash": sources,
        "sha256": hashes,
    }
    if repin or not PIN_FILE.exists():
        PIN_FILE.write_text(json.dumps(pin, indent=2) + "\n")
        log(f"pinned {PIN_FILE.relative_to(REPO)}: ale.wasm {hashes['ale.wasm']}")
        return
    old = json.loads(PIN_FILE.read_text())
    if old.get("emcc_version") != version_line:
        if old.get("sha256") != hashes:
            log(
                f"WARNING: built with {version_line!r} but wasm/ale.pin.json was made with "
                f"{old.get('emcc_version')!r}; output hashes differ. Run with --repin to accept."
            )
        return
    if old.get("sha256") == hashes:
        log("outputs match wasm/ale.pin.json")
        return
    if old.get("source_hash") != sources:
        raise BuildError(
            "wasm/ale.pin.json is stale: the sources or flags changed since it was written "
            f"(ale.wasm now {hashes['ale.wasm']}). Rerun with --repin and commit the pin."
        )
    raise BuildError(
        "non-reproducible build: same emcc version and sources as wasm/ale.pin.json "
        "but different outputs "
        f"(pinned ale.wasm {old['sha256'].get('ale.wasm')}, built {hashes['ale.wasm']}; "
        f"pinned ale.js {old['sha256'].get('ale.js')}, built {hashes['ale.js']})."
    )


def build(repin: bool) -> None:
    """Builds client/build/ale.{js,wasm} unless up to date, then checks the pin."""
    started = time.monotonic()
    version = emcc_version()
    version_line = version.splitlines()[0]
    tarball = fetch_sdist()
    sources = source_hash()
    key = input_hash(sources, version)

    if BUILD_INFO.exists():
        info = json.loads(BUILD_INFO.read_text())
        if info.get("input_hash") == key and output_hashes() == info.get("sha256"):
            log(f"up to date (input hash {key[:16]}); nothing to do")
            check_pin(version_line, sources, info["sha256"], repin)
            return

    src_root = unpack_sdist(tarball)
    gen_dir = CACHE / "gen"
    write_version_header(gen_dir, src_root)
    objects = compile_all(src_root, gen_dir, version)
    link(objects)
    hashes = output_hashes()
    assert hashes is not None  # link() just wrote both files
    info = {
        "ale_version": ALE_VERSION,
        "sdist_sha256": SDIST_SHA256,
        "emcc_version": version_line,
        "input_hash": key,
        "sha256": hashes,
    }
    BUILD_INFO.write_text(json.dumps(info, indent=2) + "\n")
    sizes = ", ".join(f"{n} {(OUT_DIR / n).stat().st_size:,} B" for n in ("ale.wasm", "ale.js"))
    log(
        f"built in {time.monotonic() - started:.1f}s: {sizes}; ale.wasm sha256 {hashes['ale.wasm']}"
    )
    check_pin(version_line, sources, hashes, repin)


def main() -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repin", action="store_true", help="record the built hashes in wasm/ale.pin.json"
    )
    args = parser.parse_args()
    try:
        build(args.repin)
    except BuildError as e:
        print(f"[wasm] error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
