#!/usr/bin/env bash
# The tests that run on a Windows desk, built for x86_64-pc-windows-gnu and
# run under Wine (called by packaging/windows/build.sh --tests, which sets
# the toolchain, the runner and the build-std options passed here).
#
# Run: the unit tests of ctibridge-lang and ctibridge-client; the desk
# side's scenario tests: tests/malformed.rs (check's goldens), tests/dial.rs
# (dial against the stand-in provider, callto:/tel: launches),
# tests/cli.rs (check, demo, completions, install-handler), tests/props.rs,
# tests/watch.rs (watch, its screen pop, stopped with Ctrl+Break).
#
# Not run there, and why:
# - the server's tests (crates/server, tests/serve.rs, control.rs,
#   keyyo*.rs, ovh.rs, lookup.rs, durability.rs, https.rs, doctor.rs,
#   secrets.rs, service.rs, package.rs, proxy.rs, browser.rs): the server
#   is Linux-only (systemd, the .deb, nginx and Caddy in front);
# - tests/watch.rs open_url_and_notifications: its notifier is a stand-in
#   `notify-send` script (Unix); open_url_and_the_toast_on_windows is its
#   Windows side;
# - tests/dial.rs a_failed_click_is_shown_on_the_desktop_and_logged: its
#   notifier is a stand-in `notify-send` script (Unix);
# - the doc tests: rustdoc runs them for the build machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo test --locked --no-fail-fast "$@" -p ctibridge-lang -p ctibridge-client --lib
# tests/watch.rs's stand-in programs are copies of this example.
cargo build --locked "$@" -p ctibridge --example record_args
cargo test --locked --no-fail-fast "$@" -p ctibridge --test malformed --test dial --test cli --test props --test watch
