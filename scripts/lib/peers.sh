# shellcheck shell=bash
# Helpers that install the external "peers" the test suite talks to.
#
# Sourced by scripts/test. Every function is idempotent: when the peer is
# already installed (and at the pinned version) it returns quickly without
# touching the network.
#
# Variables used (set by the caller):
#   MS_ROOT      absolute path of the repository root
#   MS_TEST_ENV  directory holding the peers (default: $MS_ROOT/.test-env)
#   MS_PYTHON    interpreter used to create the venvs (default: python3)

: "${MS_TEST_ENV:=${MS_ROOT:?MS_ROOT must be set}/.test-env}"
: "${MS_PYTHON:=python3}"

ms_log() { printf '%s\n' "$*" >&2; }

# ms_py_peer_ok VENV VERSION REQS: true when VENV imports model_signing at
# VERSION and was installed from exactly REQS (a stamp file records them, so
# changing a pin below forces a reinstall).
ms_py_peer_ok() {
    local venv=$1 version=$2 reqs=$3
    [[ -x $venv/bin/python ]] || return 1
    [[ -f $venv/.ms-requirements && "$(cat "$venv/.ms-requirements")" == "$reqs" ]] || return 1
    "$venv/bin/python" - "$version" <<'EOF' >/dev/null 2>&1
import sys, importlib.metadata as md
import model_signing, model_signing.signing, model_signing.verifying, OpenSSL  # noqa: F401
sys.exit(0 if md.version("model-signing") == sys.argv[1] else 1)
EOF
}

# ms_setup_py_peer VERSION [EXTRA_REQ...]: make sure .test-env/py-VERSION is a
# venv with model-signing==VERSION (plus the extra requirements) and print
# the absolute path of its python interpreter on stdout.
ms_setup_py_peer() {
    local version=$1
    shift
    local venv=$MS_TEST_ENV/py-$version
    local -a reqs=("model-signing==$version" "$@")
    local reqs_str="${reqs[*]}"
    if ms_py_peer_ok "$venv" "$version" "$reqs_str"; then
        ms_log "python peer model-signing $version: already installed ($venv)"
    else
        ms_log "python peer model-signing $version: installing into $venv"
        rm -rf "$venv"
        mkdir -p "$MS_TEST_ENV"
        "$MS_PYTHON" -m venv "$venv" >&2
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "${reqs[@]}" >&2
        printf '%s' "$reqs_str" >"$venv/.ms-requirements"
        if ! ms_py_peer_ok "$venv" "$version" "$reqs_str"; then
            ms_log "error: model-signing $version in $venv does not import after install"
            "$venv/bin/python" -c 'import model_signing.signing, OpenSSL' >&2 || true
            return 1
        fi
    fi
    printf '%s\n' "$venv/bin/python"
}

# Pins. model-signing 1.1.x imports OpenSSL (pyOpenSSL) without declaring it,
# so it is added explicitly. The versions below are the ones the interop
# tests were written against.
MS_PY_PEER_COMMON_REQS=(
    "pyopenssl==26.4.0"
    "sigstore==4.5.1"
    "sigstore-models==0.0.6"
    "cryptography==50.0.2"
)
MS_PY_PEER_1_1_1_REQS=("${MS_PY_PEER_COMMON_REQS[@]}")
MS_PY_PEER_1_1_0_REQS=("${MS_PY_PEER_COMMON_REQS[@]}")

# ms_setup_python_peers: install both Python peers and export
# MS_PEER_PY_1_1_1 / MS_PEER_PY_1_1_0 (python interpreter paths).
ms_setup_python_peers() {
    MS_PEER_PY_1_1_1=$(ms_setup_py_peer 1.1.1 "${MS_PY_PEER_1_1_1_REQS[@]}") || return 1
    MS_PEER_PY_1_1_0=$(ms_setup_py_peer 1.1.0 "${MS_PY_PEER_1_1_0_REQS[@]}") || return 1
    export MS_PEER_PY_1_1_1 MS_PEER_PY_1_1_0
}

# ms_setup_rh_peer: rh-model-signing (Red Hat's fork of the reference, which signs and verifies OCI
# images in registries) in its own venv .test-env/rh-1.0.5, for the OCI interop tests in both
# directions; exports MS_PEER_RH (its python). Pinned with the Sigstore stack the other peers use.
MS_RH_REQS=("rh-model-signing==1.0.5" "${MS_PY_PEER_COMMON_REQS[@]}" "oras==0.2.43")
ms_setup_rh_peer() {
    local venv=$MS_TEST_ENV/rh-1.0.5
    ms_setup_tool_venv "rh-model-signing 1.0.5" "$venv" \
        'import model_signing._oci.registry, model_signing._cli' "${MS_RH_REQS[@]}" || return 1
    MS_PEER_RH=$venv/bin/python
    export MS_PEER_RH
}

# ms_setup_tool_venv WHAT VENV CHECK REQ...: make sure VENV is a venv installed from exactly REQ...
# (a stamp file records them) in which the Python statement CHECK runs; install it when not.
ms_setup_tool_venv() {
    local what=$1 venv=$2 check=$3
    shift 3
    local reqs="$*"
    if [[ -x $venv/bin/python && -f $venv/.ms-requirements && "$(cat "$venv/.ms-requirements")" == "$reqs" ]] &&
        "$venv/bin/python" -c "$check" 2>/dev/null; then
        ms_log "$what: already installed ($venv)"
        return 0
    fi
    ms_log "$what: installing into $venv"
    rm -rf "$venv"
    mkdir -p "$MS_TEST_ENV"
    "$MS_PYTHON" -m venv "$venv" >&2 || return 1
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >&2 || return 1
    printf '%s' "$reqs" >"$venv/.ms-requirements"
    "$venv/bin/python" -c "$check" >&2 || {
        ms_log "error: $what in $venv does not import after install"
        return 1
    }
}

# ---------------------------------------------------------------------------
# ms_setup_sigstore_mock: install the npm packages of tests/mock-sigstore (the
# loopback Sigstore stack the keyless tests start: @sigstore/mock 0.13.0, pinned
# in its package.json and, transitively, package-lock.json) with `npm ci`, and
# export MS_MOCK_SIGSTORE_DIR (that directory) for the tests. Idempotent: a
# stamp of the lock file's hash skips npm when nothing changed.
MS_SIGSTORE_MOCK_VERSION=0.13.0
ms_sigstore_mock_ok() {
    local dir=$1
    [[ -f $dir/node_modules/.ms-lock-sha256 ]] || return 1
    [[ "$(cat "$dir/node_modules/.ms-lock-sha256")" == "$(sha256sum <"$dir/package-lock.json")" ]] || return 1
    node -e 'process.exit(require(process.argv[1] + "/node_modules/@sigstore/mock/package.json").version === process.argv[2] ? 0 : 1)' \
        "$dir" "$MS_SIGSTORE_MOCK_VERSION" >/dev/null 2>&1
}
ms_setup_sigstore_mock() {
    local dir=$MS_ROOT/tests/mock-sigstore
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        ms_log "error: node and npm are needed for the Sigstore mock (tests/mock-sigstore)"
        return 1
    fi
    if ms_sigstore_mock_ok "$dir"; then
        ms_log "sigstore mock @sigstore/mock $MS_SIGSTORE_MOCK_VERSION: already installed ($dir)"
    else
        ms_log "sigstore mock @sigstore/mock $MS_SIGSTORE_MOCK_VERSION: npm ci in $dir"
        # @sigstore/mock asks for Node >= 22 but works on 20; the engine warning is expected.
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || return 1
        sha256sum <"$dir/package-lock.json" >"$dir/node_modules/.ms-lock-sha256"
        ms_sigstore_mock_ok "$dir" || {
            ms_log "error: @sigstore/mock $MS_SIGSTORE_MOCK_VERSION is not in $dir/node_modules after npm ci"
            return 1
        }
    fi
    MS_MOCK_SIGSTORE_DIR=$dir
    export MS_MOCK_SIGSTORE_DIR
}

# ---------------------------------------------------------------------------
# ms_setup_softhsm: make sure SoftHSM2 is installed (`softhsm2-util` and its
# PKCS#11 module; `apt-get install -y softhsm2` when either is missing, with an
# `apt-get update` and a retry if that install fails) and export
# MS_SOFTHSM_MODULE (the module's path) for the pkcs11 tests
# (crates/model-signing-cli/tests/pkcs11.rs). The tests make their own token
# directories through SOFTHSM2_CONF, so nothing here touches /var/lib/softhsm.
# Idempotent: nothing is installed when both are there.

# ms_find_softhsm_module: print the path of libsofthsm2.so (MS_SOFTHSM_MODULE
# first when it is set), or fail.
ms_find_softhsm_module() {
    local m
    for m in ${MS_SOFTHSM_MODULE:+"$MS_SOFTHSM_MODULE"} \
        /usr/lib/softhsm/libsofthsm2.so \
        /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
        /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so \
        /usr/lib64/pkcs11/libsofthsm2.so \
        /usr/lib/pkcs11/libsofthsm2.so \
        /usr/lib64/softhsm/libsofthsm2.so \
        /usr/local/lib/softhsm/libsofthsm2.so; do
        if [[ -f $m ]]; then
            printf '%s\n' "$m"
            return 0
        fi
    done
    if command -v dpkg >/dev/null 2>&1; then
        m=$(dpkg -L libsofthsm2 2>/dev/null | grep -m1 '/libsofthsm2\.so$') || true
        if [[ -n $m && -f $m ]]; then
            printf '%s\n' "$m"
            return 0
        fi
    fi
    return 1
}

# ms_apt_install WHAT PKG...: `apt-get install -y PKG...`, with an `apt-get update` and a retry
# if that install fails (a stale package index); WHAT names the tool in the error when there is
# no apt-get.
ms_apt_install() {
    local what=$1
    shift
    if ! command -v apt-get >/dev/null 2>&1; then
        ms_log "error: $what is missing and there is no apt-get to install it"
        return 1
    fi
    local -a install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@")
    ms_log "$*: ${install[*]:1}"
    if ! "${install[@]}" >&2; then
        ms_log "$*: install failed; running apt-get update and retrying"
        apt-get update -qq >&2 || return 1
        "${install[@]}" >&2 || return 1
    fi
}

ms_setup_softhsm() {
    local module
    if command -v softhsm2-util >/dev/null 2>&1 && module=$(ms_find_softhsm_module); then
        ms_log "softhsm2: already installed ($module)"
    else
        ms_apt_install "SoftHSM2 (softhsm2-util, libsofthsm2.so)" softhsm2 || return 1
        if ! command -v softhsm2-util >/dev/null 2>&1; then
            ms_log "error: softhsm2-util is still missing after installing softhsm2"
            return 1
        fi
        module=$(ms_find_softhsm_module) || {
            ms_log "error: libsofthsm2.so not found after installing softhsm2"
            return 1
        }
        ms_log "softhsm2: installed ($module)"
    fi
    MS_SOFTHSM_MODULE=$module
    export MS_SOFTHSM_MODULE
}

# ---------------------------------------------------------------------------
# ms_setup_faketime: make sure libfaketime is installed (`apt-get install -y faketime`, which
# brings libfaketime, when its preload library is missing). The RFC 3161 timestamp tests
# (crates/model-signing-cli/tests/timestamps.rs) run our binary, openssl and the Sigstore mock
# with a shifted clock by preloading libfaketimeMT.so.1 themselves (they find it on the usual
# multiarch paths or through `dpkg -L libfaketime`; MS_FAKETIME_LIB overrides), so nothing is
# exported. Idempotent: nothing is installed when the library is there.

# ms_find_faketime_lib: print the path of libfaketimeMT.so.1 (MS_FAKETIME_LIB first when it is
# set), or fail.
ms_find_faketime_lib() {
    local m
    for m in ${MS_FAKETIME_LIB:+"$MS_FAKETIME_LIB"} \
        /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
        /usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1 \
        /usr/lib/faketime/libfaketimeMT.so.1 \
        /usr/lib64/faketime/libfaketimeMT.so.1 \
        /usr/local/lib/faketime/libfaketimeMT.so.1; do
        if [[ -f $m ]]; then
            printf '%s\n' "$m"
            return 0
        fi
    done
    if command -v dpkg >/dev/null 2>&1; then
        m=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketimeMT\.so\.1$') || true
        if [[ -n $m && -f $m ]]; then
            printf '%s\n' "$m"
            return 0
        fi
    fi
    return 1
}

ms_setup_faketime() {
    local lib
    if lib=$(ms_find_faketime_lib); then
        ms_log "faketime: already installed ($lib)"
        return 0
    fi
    ms_apt_install "libfaketime (libfaketimeMT.so.1)" faketime || return 1
    lib=$(ms_find_faketime_lib) || {
        ms_log "error: libfaketimeMT.so.1 not found after installing faketime"
        return 1
    }
    ms_log "faketime: installed ($lib)"
}

# ---------------------------------------------------------------------------
# ms_setup_registry: a real OCI registry and a client to fill it, for the OCI tests
# (crates/model-signing-cli/tests/oci.rs): Debian's docker-registry (Distribution 2.8; each test
# starts its own on 127.0.0.1 with a config of its own, never the packaged service), htpasswd
# (apache2-utils) for the authenticated registry, and the `oras` client from PyPI in its own venv
# .test-env/oras. Exports MS_DOCKER_REGISTRY, MS_HTPASSWD and MS_ORAS_PY.
MS_ORAS_REQS=("oras==0.2.43")

ms_setup_registry() {
    command -v docker-registry >/dev/null 2>&1 ||
        ms_apt_install "an OCI registry (docker-registry)" docker-registry || return 1
    command -v htpasswd >/dev/null 2>&1 ||
        ms_apt_install "htpasswd (apache2-utils)" apache2-utils || return 1
    local venv=$MS_TEST_ENV/oras
    ms_setup_tool_venv "oras" "$venv" 'import oras.provider' "${MS_ORAS_REQS[@]}" || return 1
    MS_DOCKER_REGISTRY=$(command -v docker-registry)
    MS_HTPASSWD=$(command -v htpasswd)
    MS_ORAS_PY=$venv/bin/python
    export MS_DOCKER_REGISTRY MS_HTPASSWD MS_ORAS_PY
}

# ---------------------------------------------------------------------------
# ms_setup_go: the Go toolchain, for the differential test of our OCI manifest reader against
# Go's encoding/json (crates/model-signing/tests/oci_go_differential.rs builds tests/go/ocidecode,
# standard library only, offline). `apt-get install -y golang-go` when `go` is missing (any Go
# >= 1.19 will do: the test reads the fold rule of the Go it finds). Exports MS_GO (its path).
ms_setup_go() {
    if command -v go >/dev/null 2>&1; then
        ms_log "go: already installed ($(go version 2>/dev/null || echo '?'))"
    else
        ms_apt_install "Go (golang-go)" golang-go || return 1
        command -v go >/dev/null 2>&1 || {
            ms_log "error: go is still missing after installing golang-go"
            return 1
        }
        ms_log "go: installed ($(go version))"
    fi
    MS_GO=$(command -v go)
    export MS_GO
}

# ---------------------------------------------------------------------------
# ms_setup_strace: strace (Debian strace), with which the fault suite
# (crates/model-signing-cli/tests/faults.rs) stops our binary at a chosen system call (signals
# while hashing, syncing or renaming; a file replaced while read; a second signer meanwhile) and
# checks the directory sync after the rename. setpriv (util-linux, always there) drops root for
# the unwritable-directory test. Exports MS_STRACE.
ms_setup_strace() {
    if ! command -v strace >/dev/null 2>&1; then
        ms_apt_install "strace" strace || return 1
        command -v strace >/dev/null 2>&1 || {
            ms_log "error: strace is still missing after installing it"
            return 1
        }
    fi
    MS_STRACE=$(command -v strace)
    export MS_STRACE
    ms_log "strace: $($MS_STRACE -V 2>/dev/null | head -1)"
}
