//! Lays out the functions `ctibridge watch` runs next to each other in the
//! release binary (`link/watch.order`, written by `benches/watch_order.py`):
//! an idle `watch` then maps a few hundred kilobytes of code instead of
//! several megabytes (the kernel maps code 64 KB around each page used).
//!
//! Only where the linker is LLD, which takes a symbol ordering file: rustc
//! links with it by default on x86_64 Linux since 1.90. Elsewhere, or with
//! `CTIBRIDGE_NO_LINK_ORDER` set, the binary is linked as usual.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=link/watch.order");
    println!("cargo:rerun-if-env-changed=CTIBRIDGE_NO_LINK_ORDER");
    let target = std::env::var("TARGET").unwrap_or_default();
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if target != "x86_64-unknown-linux-gnu"
        || !release
        || std::env::var_os("CTIBRIDGE_NO_LINK_ORDER").is_some()
        || !rustc_links_with_lld()
    {
        return;
    }
    let order = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("link")
        .join("watch.order");
    if order.exists() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Functions of the list that this build does not have are skipped.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether rustc is 1.90 or later (LLD by default on this target) and no
/// other linker is asked for.
fn rustc_links_with_lld() -> bool {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker") {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let Ok(out) = Command::new(rustc).arg("--version").output() else {
        return false;
    };
    let version = String::from_utf8_lossy(&out.stdout);
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    minor.is_some_and(|m| m >= 90)
}
