#!/usr/bin/env bash
# The MSI installed, used and removed under Wine, in a Wine prefix of its
# own (packaging/windows/build.sh --tests runs it):
#   1. `msiexec /i` puts ctibridge.exe, its README, samples and profiles in
#      C:\Program Files\ctibridge, and the program runs from there;
#   2. the Active Setup entry is there, and its command (what Windows runs
#      once per user at logon) registers the user's links to that program;
#   3. `msiexec /x` takes the files and the entry away.
# Usage: msi-check.sh MSI VERSION
set -euo pipefail
msi=$1
version=$2
shim=${CTIBRIDGE_WINE_SHIM:?set by packaging/windows/build.sh --tests}
export WINEPREFIX="${CTIBRIDGE_WINE_PREFIX:?}-msi"
export WINEPATH="$shim" WINEDEBUG=-all
rm -rf "$WINEPREFIX"
mkdir -p "$WINEPREFIX"
wineboot --init >/dev/null 2>&1 || true
wineserver --wait
fail=0
pass=0
check() { # NAME, then a command that must succeed
    local name=$1
    shift
    if "$@"; then
        echo "ok   msi: $name"
        pass=$((pass + 1))
    else
        echo "FAIL msi: $name"
        fail=$((fail + 1))
    fi
}
reg_value() { # KEY NAME: the value's data, or nothing
    wine reg query "$1" /v "$2" 2>/dev/null | tr -d '\r' | sed -n "s/^ *$2 *REG_SZ *//p"
}
reg_default() { # KEY: its default value's data, or nothing
    wine reg query "$1" /ve 2>/dev/null | tr -d '\r' | sed -n 's/^ *(Default) *REG_SZ *//p'
}
dir="$WINEPREFIX/drive_c/Program Files/ctibridge"
active='HKLM\Software\Microsoft\Active Setup\Installed Components\{E7E21207-812C-4F0E-BDDF-AD5C0725A159}'
exe='C:\Program Files\ctibridge\ctibridge.exe'

check "installs quietly" wine msiexec /i "$(winepath -w "$msi")" /qn
check "the program, its README, samples and profiles are in Program Files" \
    test -f "$dir/ctibridge.exe" -a -f "$dir/README.txt" -a -f "$dir/samples/clicktocall_param.txt" -a -f "$dir/params/keyyo.txt"
check "the installed program runs" bash -c "wine '$exe' --version | tr -d '\r' | grep -qx 'ctibridge $version'"
check "the installed program checks the installed samples" \
    bash -c "wine '$exe' check --sys-dir 'C:\\Program Files\\ctibridge\\samples' --station 'C:\\Program Files\\ctibridge\\samples\\station.txt' >/dev/null"
stub=$(reg_value "$active" StubPath)
check "Active Setup runs install-handler once per user" test "$stub" = "\"$exe\" install-handler --quiet"
check "Active Setup's version is the package's" test "$(reg_value "$active" Version)" = "${version//./,}"
# What Windows does at the user's next logon.
first_run() {
    local out
    out=$(wine "$exe" install-handler --quiet 2>&1) && test -z "$(printf '%s' "$out" | tr -d '\r')"
}
check "the first-run command prints nothing and succeeds" first_run
check "the user's tel: links open the installed program" \
    test "$(reg_default 'HKCU\Software\Classes\tel\shell\open\command')" = "\"$exe\" \"%1\""
check "uninstalls quietly" wine msiexec /x "$(winepath -w "$msi")" /qn
check "the files are gone" test ! -e "$dir/ctibridge.exe"
check "the Active Setup entry is gone" test -z "$(reg_value "$active" StubPath)"
wineserver --kill || true
echo "msi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
