#!/usr/bin/env bash
# Cargo's runner for x86_64-pc-windows-gnu (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER):
# each test program runs under Wine, in the Wine prefix CTIBRIDGE_WINE_PREFIX
# (made on first use; its registry is the tests' scratch registry), with the
# test-only ProcessPrng stand-in (CTIBRIDGE_WINE_SHIM) on Wine's PATH.
set -euo pipefail
export WINEPREFIX="${CTIBRIDGE_WINE_PREFIX:?set by packaging/windows/build.sh --tests}"
export WINEPATH="${CTIBRIDGE_WINE_SHIM:?set by packaging/windows/build.sh --tests}"
export WINEDEBUG="${WINEDEBUG:--all}"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    mkdir -p "$WINEPREFIX"
    wineboot --init >/dev/null 2>&1 || true
    wineserver --wait
fi
exec wine "$@"
