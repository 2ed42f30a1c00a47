//! `ctibridge serve --sim` end to end on 127.0.0.1, with the station side
//! run from the repository's sample param file (only its port changed: the
//! test cannot count on 8082 being free).

mod common;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{ctibridge, free_addr, text, TempDir};
use serde_json::Value;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(dir: &TempDir, addr: SocketAddr) -> Server {
    let child = ctibridge(dir)
        .args(["serve", "--sim", "--listen", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let end = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < end, "the server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server(child)
}

/// The sample files in a sys folder, pointed at `addr`.
fn sample_sys(dir: &TempDir, addr: SocketAddr) -> std::path::PathBuf {
    let sys = dir.path().join("sys");
    std::fs::create_dir_all(&sys).expect("mkdir");
    let param = std::fs::read_to_string("samples/clicktocall_param.txt").expect("sample");
    std::fs::write(
        sys.join("clicktocall_param.txt"),
        param.replace("localhost:8082", &addr.to_string()),
    )
    .expect("write");
    std::fs::copy("samples/tapi_param.txt", sys.join("tapi_param.txt")).expect("copy");
    sys
}

#[test]
fn the_sample_file_dials_and_watches_through_the_simulator() {
    let addr = free_addr();
    let dir = TempDir::new("serve");
    let _srv = start_server(&dir, addr);
    let sys = sample_sys(&dir, addr);
    let station = std::path::Path::new("samples/station.txt");

    // An incoming call is injected first: a station starting now still
    // gets a call that is ringing.
    let out = ctibridge(&dir)
        .args(["sim", "call", "Dupont", "1003", "--url"])
        .arg(format!("http://{addr}"))
        .output()
        .expect("sim call");
    assert_eq!(out.status.code(), Some(3), "not a number: nothing sent");
    let out = ctibridge(&dir)
        .args(["sim", "call", "03 88 20 20 20", "1003", "--url"])
        .arg(format!("http://{addr}"))
        .output()
        .expect("sim call");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let mut watch = ctibridge(&dir)
        .arg("--sys-dir")
        .arg(&sys)
        .arg("--station")
        .arg(station)
        .args(["watch", "--json", "--once"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch");
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(20));
    let _ = watch.kill();
    let _ = watch.wait();
    let line = line.expect("a call event");
    let ev: Value = serde_json::from_str(&line).expect("json");
    assert_eq!(ev["kind"], "ring");
    assert_eq!(ev["caller"], "0388202020");
    assert_eq!(ev["screen_pop"], true);

    // The dial request of the sample reaches the simulator.
    let out = ctibridge(&dir)
        .arg("--sys-dir")
        .arg(&sys)
        .arg("--station")
        .arg(station)
        .args(["dial", "0388202020"])
        .output()
        .expect("dial");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
