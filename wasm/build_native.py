#!/usr/bin/env python3
"""Build the verifier's native emulator: the same C++ as the WebAssembly build, as a Python module.

Usage::

    .venv/bin/python wasm/build_native.py           # build .cache/native/_emulator*.so if stale
    .venv/bin/python wasm/build_native.py --repin   # accept a new output hash into native.pin.json

ale-py's Python API cannot act for player B, so two-player logs are replayed through this module:
ALE's core from the same pinned ale-py sdist as ``wasm/build.py`` (fetched and checked by it), our
emulator (``emulator.cpp``, the one source of truth the browser's build also compiles) and a
pybind11 binding (``python_bindings.cpp``), compiled with the system's g++ and the same flags as
ale-py's Release build. Run with the Python that will import the module (its headers and ABI
suffix are used). Objects are cached in ``.cache/native/obj/``; nothing is rebuilt when the
input hash (sdist, our sources, this file, flags, ``g++ --version``, Python's ABI) is the one
recorded next to the module. The output's sha256 is compared with ``wasm/native.pin.json`` like
the WebAssembly pin: same compiler and sources but a different output fails.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import build as wasm_build  # wasm/build.py: the sdist, its sources and the hashing helpers

WASM_DIR = wasm_build.WASM_DIR
REPO = wasm_build.REPO
CACHE = REPO / ".cache" / "native"
PIN_FILE = WASM_DIR / "native.pin.json"
MODULE = "_emulator"

SOURCES = ("emulator.cpp", "two_player.cpp", "python_bindings.cpp", "sha256.cpp")
HEADERS = ("emulator.hpp", "two_player.hpp", "sha256.hpp", *wasm_build.COMPAT_HEADERS)
CXXFLAGS = ("-O3", "-std=c++17", "-DNDEBUG", "-fPIC", "-fvisibility=hidden", "-w")
LINKFLAGS = ("-shared", "-Wl,--build-id=none")
JOBS = 2


def log(msg: str) -> None:
    """Prints one progress line."""
    print(f"[native] {msg}", flush=True)


def compiler_version() -> str:
    """Full ``g++ --version`` output (part of the input hash)."""
    if shutil.which("g++") is None:
        raise wasm_build.BuildError("g++ not found: install it with `apt-get install g++`")
    return subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.strip()


def python_includes() -> list[str]:
    """Python's and pybind11's include folders."""
    try:
        import pybind11
    except ImportError as err:
        raise wasm_build.BuildError(
            "pybind11 is not installed in this Python: run `./just setup` (it is a dev extra)"
        ) from err
    include = sysconfig.get_paths()["include"]
    if not (Path(include) / "Python.h").exists():
        raise wasm_build.BuildError(
            f"Python's headers are missing ({include}/Python.h): install python3-dev"
        )
    return [include, pybind11.get_include()]


def module_path() -> Path:
    """Where the built module goes: .cache/native/_emulator<ABI suffix>."""
    return CACHE / (MODULE + sysconfig.get_config_var("EXT_SUFFIX"))


def input_hash(compiler: str) -> str:
    """Hash over everything that determines the module."""
    items = {
        "sdist": wasm_build.SDIST_SHA256,
        "cxxflags": list(CXXFLAGS),
        "linkflags": list(LINKFLAGS),
        "compiler": compiler,
        "python": sysconfig.get_config_var("EXT_SUFFIX"),
        "build_native.py": wasm_build.sha256_file(Path(__file__).resolve()),
    }
    for name in (*SOURCES, *HEADERS):
        items[name] = wasm_build.sha256_file(WASM_DIR / name)
    return hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()


def compile_one(src: Path, obj: Path, includes: list[str], prefix_maps: list[str]) -> None:
    """Compile one translation unit; the object appears atomically or not at all."""
    obj.parent.mkdir(parents=True, exist_ok=True)
    tmp = obj.with_suffix(".o.tmp")
    cmd = ["g++", *CXXFLAGS, *prefix_maps, *(f"-I{i}" for i in includes), "-c", str(src)]
    proc = subprocess.run([*cmd, "-o", str(tmp)], capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise wasm_build.BuildError(f"compiling {src} failed:\n{proc.stderr.strip()}")
    tmp.replace(obj)


def compile_all(src_root: Path, gen_dir: Path, compiler: str) -> list[Path]:
    """ALE's sources and ours into cached objects, keyed like the WebAssembly build's."""
    compat = [wasm_build.sha256_file(WASM_DIR / h) for h in wasm_build.COMPAT_HEADERS]
    ale_key = wasm_build.sha256_text(wasm_build.SDIST_SHA256, compiler, *CXXFLAGS, *compat)[:16]
    ours = [wasm_build.sha256_file(WASM_DIR / f) for f in (*SOURCES, *HEADERS)]
    python = sysconfig.get_config_var("EXT_SUFFIX")
    our_key = wasm_build.sha256_text(ale_key, python, *ours)[:16]
    prefix_maps = [
        f"-ffile-prefix-map={src_root}=ale-src",
        f"-ffile-prefix-map={gen_dir}=ale-gen",
        f"-ffile-prefix-map={WASM_DIR}=wasm",
    ]
    includes = [str(src_root), str(gen_dir), str(WASM_DIR / "compat"), *python_includes()]
    jobs = [
        (src_root / "ale" / rel, CACHE / "obj" / f"ale-{ale_key}" / (rel + ".o"))
        for rel in wasm_build.ale_sources(src_root)
    ]
    jobs += [(WASM_DIR / n, CACHE / "obj" / f"ours-{our_key}" / (n + ".o")) for n in SOURCES]
    todo = [(s, o) for s, o in jobs if not o.exists()]
    if todo:
        log(f"compiling {len(todo)} of {len(jobs)} sources with {JOBS} jobs")
        with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
            futures = [pool.submit(compile_one, s, o, includes, prefix_maps) for s, o in todo]
            try:
                for n, future in enumerate(concurrent.futures.as_completed(futures), 1):
                    future.result()
                    if n % 20 == 0 or n == len(todo):
                        log(f"[{n}/{len(todo)}]")
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    else:
        log(f"all {len(jobs)} objects cached")
    for stale in (CACHE / "obj").iterdir():
        if stale.name not in (f"ale-{ale_key}", f"ours-{our_key}"):
            shutil.rmtree(stale)
    return [o for _, o in jobs]


def link(objects: list[Path]) -> None:
    """Link the module next to its cache, from a fixed folder with relative paths."""
    tmp = CACHE / "link.so"
    rel = [str(o.relative_to(CACHE)) for o in objects]
    proc = subprocess.run(
        ["g++", *LINKFLAGS, *rel, "-o", tmp.name], capture_output=True, text=True, cwd=CACHE
    )
    if proc.returncode != 0:
        raise wasm_build.BuildError(f"link failed:\n{proc.stderr.strip()}")
    tmp.replace(module_path())


def check_pin(compiler: str, sources: str, digest: str, repin: bool) -> None:
    """Compare the module's hash with wasm/native.pin.json (see wasm/build.py's check_pin)."""
    line = compiler.splitlines()[0]
    python = sysconfig.get_config_var("EXT_SUFFIX")
    pin = {"compiler": line, "python": python, "source_hash": sources, "sha256": digest}
    if repin or not PIN_FILE.exists():
        PIN_FILE.write_text(json.dumps(pin, indent=2) + "\n")
        log(f"pinned {PIN_FILE.relative_to(REPO)}: {digest}")
        return
    old = json.loads(PIN_FILE.read_text())
    if (old.get("compiler"), old.get("python")) != (line, python):
        if old.get("sha256") != digest:
            log(f"WARNING: built with {line} for {python}; the pin was made with another compiler")
        return
    if old.get("sha256") == digest:
        log("module matches wasm/native.pin.json")
        return
    if old.get("source_hash") != sources:
        raise wasm_build.BuildError(
            "wasm/native.pin.json is stale: the sources or flags changed since it was written "
            f"(module now {digest}). Rerun with --repin and commit the pin."
        )
    raise wasm_build.BuildError(
        f"non-reproducible native build: pinned {old.get('sha256')}, built {digest}"
    )


def build(repin: bool) -> Path:
    """Builds the module unless up to date, checks the pin, and returns its path."""
    started = time.monotonic()
    compiler = compiler_version()
    tarball = wasm_build.fetch_sdist()
    key = input_hash(compiler)
    info_path = CACHE / "build.json"
    target = module_path()
    if info_path.exists() and target.exists():
        info = json.loads(info_path.read_text())
        if info.get("input_hash") == key and wasm_build.sha256_file(target) == info.get("sha256"):
            log(f"up to date (input hash {key[:16]}); nothing to do")
            check_pin(compiler, info["source_hash"], info["sha256"], repin)
            return target
    src_root = wasm_build.unpack_sdist(tarball)
    gen_dir = wasm_build.CACHE / "gen"
    wasm_build.write_version_header(gen_dir, src_root)
    CACHE.mkdir(parents=True, exist_ok=True)
    link(compile_all(src_root, gen_dir, compiler))
    digest = wasm_build.sha256_file(target)
    info = {"input_hash": key, "source_hash": key, "sha256": digest}
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    size = target.stat().st_size
    log(f"built {target.name} in {time.monotonic() - started:.1f}s: {size:,} B, sha256 {digest}")
    check_pin(compiler, key, digest, repin)
    return target


def main() -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repin", action="store_true", help="record the built hash in the pin")
    args = parser.parse_args()
    try:
        build(args.repin)
    except wasm_build.BuildError as err:
        print(f"[native] error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
