//! The Debian package, built by `packaging/build-deb.sh` with cargo-deb
//! (from the dev build, for speed) and read back with dpkg-deb: the
//! binary, the unit, a server file readable by root and the service only
//! (kept as a configuration file), completions, a man page per subcommand,
//! the proxy recipes; the maintainer script that makes the service's user.
//!
//! cargo-deb must be installed: the test runs when asked (`cargo test --
//! --ignored`), as `.ci/run` does once it has installed it.

use std::path::Path;
use std::process::Command;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
#[ignore = "needs cargo-deb (.ci/run installs it and runs the ignored tests)"]
fn the_debian_package_holds_the_service_and_its_files() {
    let found = Command::new("cargo")
        .args(["deb", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "cargo-deb is not installed: `cargo install cargo-deb` (.ci/run does)"
    );
    let out = Command::new("packaging/build-deb.sh")
        .env("PROFILE", "dev")
        .output()
        .expect("build-deb.sh");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let deb = text(&out.stdout)
        .lines()
        .rev()
        .find(|l| l.ends_with(".deb"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no package named: {}", text(&out.stdout)));
    assert!(Path::new(&deb).exists(), "{deb}");

    let listing = Command::new("dpkg-deb")
        .args(["--contents", &deb])
        .output()
        .expect("dpkg-deb --contents");
    assert!(listing.status.success());
    let listing = text(&listing.stdout);
    let entry = |path: &str| -> String {
        listing
            .lines()
            .find(|l| l.ends_with(path))
            .unwrap_or_else(|| panic!("{path} is not in the package:\n{listing}"))
            .to_owned()
    };
    assert!(entry("./usr/bin/ctibridge").starts_with("-rwxr-xr-x"));
    entry("/systemd/system/ctibridge.service");
    // Secrets: readable by root and the service's group only.
    assert!(entry("./etc/ctibridge/server_param.txt").starts_with("-rw-r-----"));
    entry("./usr/share/bash-completion/completions/ctibridge");
    entry("./usr/share/zsh/vendor-completions/_ctibridge");
    entry("./usr/share/fish/vendor_completions.d/ctibridge.fish");
    entry("./usr/share/doc/ctibridge/examples/nginx-ctibridge.conf");
    entry("./usr/share/doc/ctibridge/examples/Caddyfile-ctibridge");
    // The docs the installed server file points at.
    for doc in ["control.md", "param-format.md", "deployments.md", "desk.md"] {
        entry(&format!("./usr/share/doc/ctibridge/{doc}"));
    }
    for page in [
        "ctibridge",
        "ctibridge-serve",
        "ctibridge-check",
        "ctibridge-dial",
        "ctibridge-watch",
    ] {
        entry(&format!("./usr/share/man/man1/{page}.1.gz"));
    }

    let info = Command::new("dpkg-deb")
        .args(["--info", &deb])
        .output()
        .expect("dpkg-deb --info");
    let info = text(&info.stdout);
    assert!(info.contains("Package: ctibridge"), "{info}");
    assert!(info.contains("Depends: adduser"), "{info}");
    let control = std::env::temp_dir().join(format!("ctibridge-deb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&control);
    let out = Command::new("dpkg-deb")
        .arg("--control")
        .arg(&deb)
        .arg(&control)
        .output()
        .expect("dpkg-deb --control");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let conffiles = std::fs::read_to_string(control.join("conffiles")).expect("conffiles");
    assert!(
        conffiles.contains("/etc/ctibridge/server_param.txt"),
        "{conffiles}"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).expect("postinst");
    assert!(postinst.contains("adduser --system --group"), "{postinst}");
    assert!(postinst.contains("chown root:ctibridge /etc/ctibridge/server_param.txt"));
    assert!(
        postinst.contains("deb-systemd-helper"),
        "the unit's own scripts"
    );
    let _ = std::fs::remove_dir_all(&control);

    // The server file it installs is one the server takes.
    let out = Command::new(env!("CARGO_BIN_EXE_ctibridge"))
        .args(["check", "--server", "packaging/server_param.txt"])
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
