# CrowdPlay's one entry point for every check. Run through ./just on a fresh machine.
set shell := ["bash", "-euo", "pipefail", "-c"]

venv := justfile_directory() / ".venv"
python := venv / "bin/python"

# List the recipes.
default:
    @./just --list

# Install system packages, the Python environment, the WebAssembly build and its native twin (idempotent, quick when done).
setup: system python wasm native client-vendor

# Debian packages the project needs (Emscripten, Node.js, g++ for the native emulator, Chromium for the end-to-end tests, PostgreSQL for the tests' throwaway clusters, HAProxy in front of several instances); installed only when missing.
system:
    #!/usr/bin/env bash
    set -euo pipefail
    missing=()
    command -v emcc >/dev/null || missing+=(emscripten)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    command -v g++ >/dev/null || missing+=(g++)
    [ -x /usr/bin/chromium ] || missing+=(chromium)
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
    command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing Debian packages: ${missing[*]}"
        if [ "$(id -u)" != 0 ]; then echo "need root (or sudo) for apt-get install ${missing[*]}" >&2; exit 1; fi
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi

# The project installed (editable) in .venv with its dev tools; reinstalled when pyproject.toml changes.
python:
    #!/usr/bin/env bash
    set -euo pipefail
    [ -x "{{python}}" ] || python3 -m venv "{{venv}}"
    stamp="{{venv}}/.crowdplay-installed"
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        "{{python}}" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
        echo "$want" > "$stamp"
    fi

# d3rlpy's own environment (d3rlpy 2.8 pins gymnasium 1.0.0, so it stays out of .venv): the d3rlpy
# export test runs a script in it, with Minari for d3rlpy's get_minari; the behaviour-cloning test
# runs `crowdplay policy train` in it (the train extra: PyTorch, onnx). Reinstalled when
# pyproject.toml changes.
venv-d3rlpy:
    #!/usr/bin/env bash
    set -euo pipefail
    venv=.cache/venv-d3rlpy
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    stamp="$venv/.crowdplay-installed"
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[d3rlpy,minari,train]' pytest
        echo "$want" > "$stamp"
    fi

# Build ale.js + ale.wasm into client/build/ from the pinned ale-py sdist (skipped when up to date).
wasm:
    NODE_PATH=/usr/share/nodejs python3 wasm/build.py

# Build the same emulator natively into .cache/native/ (the verifier's two-player backend; skipped when up to date).
native: python
    {{python}} wasm/build_native.py

# onnxruntime-web's WebAssembly backend, pinned by client/vendor/package-lock.json, into
# client/vendor/onnxruntime-web/ (served as /static/vendor/onnxruntime-web/; not committed): the
# browser's runtime for AI policies (docs/policies.md). Skipped when the lock and the file list
# are unchanged.
client-vendor:
    #!/usr/bin/env bash
    set -euo pipefail
    files="ort.wasm.bundle.min.mjs ort-wasm-simd-threaded.wasm"
    out=client/vendor/onnxruntime-web
    stamp="$out/.installed"
    want=$( (cat client/vendor/package-lock.json; echo "$files") | sha256sum | cut -d' ' -f1)
    [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || exit 0
    command -v npm >/dev/null || { echo "need npm (Debian package npm) for onnxruntime-web" >&2; exit 1; }
    work=.cache/client-vendor
    rm -rf "$work" "$out"
    mkdir -p "$work" "$out"
    cp client/vendor/package.json client/vendor/package-lock.json "$work"/
    (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    package="$work/node_modules/onnxruntime-web"
    for f in $files; do cp "$package/dist/$f" "$out"/; done
    echo "$want" > "$stamp"

# Run the participant server with the demo tasks on an embedded SQLite file (sets up first).
serve *ARGS: setup
    mkdir -p .crowdplay
    {{venv}}/bin/crowdplay serve --db .crowdplay/crowdplay.sqlite {{ARGS}}

# Several server instances on one PostgreSQL database behind HAProxy (a throwaway local cluster unless --db-url or CROWDPLAY_DB_URL names one); docs/deploy.md.
cluster *ARGS: setup
    {{venv}}/bin/crowdplay cluster {{ARGS}}

# Run the whole test suite, end-to-end browser tests included (sets up first).
test *ARGS: setup venv-d3rlpy
    {{python}} -m pytest {{ARGS}}

# Only the end-to-end tests: Playwright driving Debian's Chromium against `crowdplay serve`.
test-e2e *ARGS: setup
    {{python}} -m pytest -m e2e tests/e2e {{ARGS}}

# The opt-in determinism sweep: WebAssembly vs ale-py on every ROM ale-py ships.
test-allroms: setup
    {{python}} -m pytest -m allroms tests/wasm

# ruff (lint and format check) and mypy.
lint: python
    {{venv}}/bin/ruff check .
    {{venv}}/bin/ruff format --check .
    rm -rf .cache/typecheck && mkdir -p .cache/typecheck/crowdplay
    ln -s "$PWD"/crowdplay/* .cache/typecheck/crowdplay/
    for pkg in verifier server datasets; do [ ! -d $pkg ] || ln -s "$PWD/$pkg" .cache/typecheck/crowdplay/$pkg; done
    cd .cache/typecheck && {{venv}}/bin/mypy --config-file ../../pyproject.toml

# Benchmarks: print figures and write bench-results.json.
bench: setup
    {{python}} -m bench

# Record a demo episode in the WebAssembly emulator and verify it with ale-py.
demo: setup
    {{python}} examples/wasm_roundtrip.py
