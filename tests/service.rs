//! `serve` as a systemd service: the unit in `packaging/` passes
//! `systemd-analyze verify` with no warning (when systemd-analyze is
//! there), and the server speaks systemd's notify protocol — READY once it
//! listens, WATCHDOG pings at half the unit's interval, STOPPING when it
//! goes — on a notify socket the test holds, as systemd would.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::Stdio;
use std::time::Duration;

use common::{ctibridge, free_addr, listening, text, TempDir};

#[test]
#[ignore = "needs systemd-analyze (.ci/run installs systemd and runs the ignored tests)"]
fn the_unit_passes_systemd_analyze_verify() {
    let analyze = std::path::Path::new("/usr/bin/systemd-analyze");
    assert!(
        analyze.exists(),
        "systemd-analyze is not installed: `apt-get install systemd` (.ci/run does)"
    );
    let dir = TempDir::new("unit");
    // The unit as packaged, pointing at the binary under test (verify
    // checks that ExecStart can be run).
    let unit = std::fs::read_to_string("packaging/ctibridge.service").expect("unit");
    assert!(unit
        .contains("ExecStart=/usr/bin/ctibridge serve --server /etc/ctibridge/server_param.txt"));
    let unit = unit.replace("/usr/bin/ctibridge", env!("CARGO_BIN_EXE_ctibridge"));
    let path = dir.write("ctibridge.service", &unit);
    let out = std::process::Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "warnings about the unit");
    for needed in [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "ProtectSystem=strict",
        "StateDirectory=ctibridge",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.contains(needed), "the unit has no {needed}");
    }
}

/// The next datagram on `socket` (10 s at most).
fn next(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).expect("a notification within 10 s");
    String::from_utf8_lossy(&buf[..n]).trim_end().to_owned()
}

#[test]
fn serve_tells_systemd_it_is_ready_alive_and_stopping() {
    let dir = TempDir::new("notify");
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let addr = free_addr();
    let mut cmd = ctibridge(&dir);
    cmd.args(["serve", "--sim", "--listen", &addr.to_string()])
        .env("NOTIFY_SOCKET", &path)
        // A 200 ms watchdog: pinged every 100 ms.
        .env("WATCHDOG_USEC", "200000")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let srv = listening(cmd, addr);
    let ready = next(&socket);
    assert!(ready.contains("READY=1"), "{ready}");
    assert!(
        ready.contains(&format!("STATUS=listening on {addr}")),
        "{ready}"
    );
    for _ in 0..2 {
        assert_eq!(next(&socket), "WATCHDOG=1");
    }
    // SAFETY: kill(2) on the pid of our own child.
    unsafe {
        libc::kill(srv.0.id() as i32, libc::SIGTERM);
    }
    loop {
        let said = next(&socket);
        if said == "WATCHDOG=1" {
            continue;
        }
        assert_eq!(said, "STOPPING=1");
        break;
    }
}
