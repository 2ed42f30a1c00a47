#!/usr/bin/env bash
# ctibridge for Windows desks, built on Debian 12 from registry packages only:
#
#   packaging/windows/build.sh            ctibridge.exe, the zip and the MSI
#   packaging/windows/build.sh --tests    and the Windows tests, run under Wine
#   packaging/windows/build.sh --exe      ctibridge.exe only
#
# The Rust toolchain is Debian's `rustc-web` 1.96 with its standard
# library's source (`rust-web-src`), unpacked into target/windows/toolchain
# (`apt-get download` + `dpkg-deb -x`): the machine's own toolchain is left
# as it is. The machine's cargo drives it, with RUSTC_BOOTSTRAP=1 and
# `-Z build-std` (Debian ships no prebuilt standard library for Windows),
# and Debian's mingw-w64 gcc links. Crates come from crates.io through
# Cargo.lock, as for Linux. What it needs from Debian (mingw-w64, LLVM 22's
# library, msitools' wixl, zip, Wine for --tests) is installed with apt-get
# when run as root, as CI does; otherwise it says what is missing.
#
# Out: target/windows/ctibridge.exe, ctibridge-VERSION-windows-x86_64.zip,
# ctibridge-VERSION-x86_64.msi. Set CTIBRIDGE_WINDOWS_OUT for another folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${CTIBRIDGE_WINDOWS_OUT:-$root/target/windows}
mode=${1:-}
case "$mode" in
    ""|--tests|--exe) ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown option $mode (--tests, --exe or none)" >&2; exit 2 ;;
esac
target=x86_64-pc-windows-gnu
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)

# -- Debian's packages this needs (programs, and the libraries rustc-web
# links to): installed when missing, as root.
need=()
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
[ -e /usr/lib/x86_64-linux-gnu/libLLVM.so.22.1 ] || need+=(libllvm22)
if [ "$mode" != "--exe" ]; then
    command -v wixl >/dev/null || need+=(wixl)
    command -v zip >/dev/null || need+=(zip)
fi
if [ "$mode" = "--tests" ]; then
    command -v wine >/dev/null || need+=(wine wine64)
fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "build.sh: missing Debian packages: ${need[*]} (apt-get install them, or run as root)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# -- The toolchain, unpacked once into $out/toolchain.
tool=$out/toolchain
if [ ! -x "$tool/usr/bin/rustc" ]; then
    echo "== rustc-web and rust-web-src into $tool"
    debs=$out/debs
    rm -rf "$debs" "$tool.new"
    mkdir -p "$debs" "$tool.new"
    [ -n "$(apt-cache policy rustc-web 2>/dev/null | sed -n 's/ *Candidate: //p')" ] || apt-get update -qq
    # apt-get download writes as _apt where it can: a folder it may write.
    chmod 777 "$debs"
    (cd "$debs" && apt-get download -q rustc-web libstd-rust-web-dev rust-web-src \
        "$(apt-cache depends libstd-rust-web-dev | awk '/Depends: libstd-rust-web-[0-9]/ { print $2; exit }')")
    for deb in "$debs"/*.deb; do
        dpkg-deb -x "$deb" "$tool.new"
    done
    mv "$tool.new" "$tool"
    rm -rf "$debs"
fi
export LD_LIBRARY_PATH="$tool/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RUSTC="$tool/usr/bin/rustc"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_DIR="$out/target"
# rust-src is where build-std looks for it: the package links it there.
[ -d "$("$RUSTC" --print sysroot)/lib/rustlib/src/rust/library/std" ] || {
    echo "build.sh: $tool has no standard library source" >&2
    exit 1
}
"$RUSTC" --version
build_std=(-Z build-std=std,panic_abort --target "$target")

# -- ctibridge.exe.
echo "== ctibridge.exe ($target, release)"
start=$(date +%s)
(cd "$root" && cargo build --locked "${build_std[@]}" --release --bin ctibridge)
exe="$out/target/$target/release/ctibridge.exe"
cp "$exe" "$out/ctibridge.exe"
echo "built $out/ctibridge.exe: $(stat -c %s "$out/ctibridge.exe") bytes in $(( $(date +%s) - start )) s"

if [ "$mode" != "--exe" ]; then
    # -- The zip: the program, the samples and the provider profiles, with
    # Windows line ends on the text files (Notepad reads either; a copy
    # edited there stays CRLF).
    echo "== zip and MSI"
    stage=$out/stage
    rm -rf "$stage"
    mkdir -p "$stage/ctibridge-$version/samples" "$stage/ctibridge-$version/params"
    cp "$out/ctibridge.exe" "$stage/ctibridge-$version/"
    for f in "$root"/samples/clicktocall_param.txt "$root"/samples/tapi_param.txt "$root"/samples/station.txt; do
        sed 's/\r*$/\r/' "$f" > "$stage/ctibridge-$version/samples/$(basename "$f")"
    done
    for f in "$root"/params/*.txt; do
        sed 's/\r*$/\r/' "$f" > "$stage/ctibridge-$version/params/$(basename "$f")"
    done
    sed 's/\r*$/\r/' "$here/README-windows.txt" > "$stage/ctibridge-$version/README.txt"
    zip_file="$out/ctibridge-$version-windows-x86_64.zip"
    rm -f "$zip_file"
    (cd "$stage" && zip -q -r -X "$zip_file" "ctibridge-$version")
    echo "built $zip_file: $(stat -c %s "$zip_file") bytes"
    # -- The MSI (wixl, msitools): per machine, in Program Files.
    msi="$out/ctibridge-$version-x86_64.msi"
    # (wixl reads the sources relative to where it runs.)
    (cd "$stage/ctibridge-$version" && wixl -a x64 -D Version="$version" \
        -D ActiveSetupVersion="${version//./,}" -D SourceDir=. -o "$msi" "$here/ctibridge.wxs")
    echo "built $msi: $(stat -c %s "$msi") bytes"
fi

if [ "$mode" = "--tests" ]; then
    # -- The tests, built for Windows and run under Wine. Wine 8.0 lacks
    # ProcessPrng (bcryptprimitives.dll), which Rust's standard library
    # imports: a test-only DLL forwarding it to RtlGenRandom fills it in
    # (tests/windows/; never shipped).
    echo "== the Windows tests, under Wine"
    shim=$out/shim
    mkdir -p "$shim"
    x86_64-w64-mingw32-gcc -O2 -shared -o "$shim/bcryptprimitives.dll" \
        "$root/tests/windows/bcryptprimitives.c" -ladvapi32
    export CTIBRIDGE_WINE_SHIM="$shim"
    export CTIBRIDGE_WINE_PREFIX="$out/wine"
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$root/tests/windows/wine-run.sh"
    (cd "$root" && "$root/tests/windows/run-tests.sh" "${build_std[@]}")
    # And the MSI, installed, used and removed under Wine.
    "$root/tests/windows/msi-check.sh" "$msi" "$version"
fi
