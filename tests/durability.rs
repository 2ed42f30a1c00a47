//! Nothing acknowledged is lost: a Keyyo notification answered 200 is in
//! the journal, whatever happens to the server after (`kill -9` in the
//! middle of a burst), and a journal that cannot be written refuses
//! notifications (503) rather than losing them, without holding up the
//! routes that do not need it.

#![cfg(unix)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{ctibridge, free_addr, listening, Server, TempDir};

const SECRET: &str = "0123456789abcdef-secret";

fn server_file(dir: &TempDir) -> std::path::PathBuf {
    dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<simulator>1\n<journal>journal.sqlite\n<rate>1000000\n\
             <keyyo_notify>\n<secret>{SECRET}\n<sources>127\\.0\\.0\\.1\n<rate>1000000\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>33972101010\n"
        ),
    )
}

/// `serve` on `file`, once it accepts connections.
fn start(dir: &TempDir, file: &std::path::Path, addr: SocketAddr) -> Server {
    let mut cmd = ctibridge(dir);
    cmd.args(["serve", "--listen", &addr.to_string(), "--server"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    listening(cmd, addr)
}

fn notification(callref: &str) -> String {
    format!(
        "/keyyo/notify?secret={SECRET}&account=33972101010&caller=33388202020&callee=33972101010&callref={callref}&type=SETUP&version=1&tsms=1700000000000"
    )
}

/// One request on a kept-alive connection; the status, or `None` when the
/// connection failed (the server is gone).
fn ask(conn: &mut BufReader<TcpStream>, target: &str, auth: &str) -> Option<u16> {
    let req = format!("GET {target} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n");
    conn.get_mut().write_all(req.as_bytes()).ok()?;
    let mut status_line = String::new();
    if conn.read_line(&mut status_line).ok()? == 0 {
        return None;
    }
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if conn.read_line(&mut h).ok()? == 0 {
            return None;
        }
        if h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).ok()?;
    Some(status)
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    BufReader::new(s)
}

/// The call references the journal holds.
fn journaled(dir: &TempDir) -> HashSet<String> {
    let db = rusqlite::Connection::open(dir.path().join("journal.sqlite")).expect("open journal");
    let mut st = db.prepare("SELECT callref FROM events").expect("query");
    let refs = st
        .query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    refs
}

#[test]
fn kill_9_in_a_burst_loses_no_acknowledged_notification() {
    let dir = TempDir::new("durable-kill");
    let file = server_file(&dir);
    let mut acknowledged = HashSet::new();
    const ROUNDS: usize = 6;
    const SENDERS: usize = 8;
    for round in 0..ROUNDS {
        let addr = free_addr();
        let mut srv = start(&dir, &file, addr);
        let (acks, acked) = mpsc::channel::<String>();
        let senders: Vec<_> = (0..SENDERS)
            .map(|t| {
                let acks = acks.clone();
                std::thread::spawn(move || {
                    let mut conn = connect(addr);
                    // Bounded: the server is killed long before.
                    for i in 0..200_000 {
                        let callref = format!("r{round}-t{t}-{i}");
                        match ask(&mut conn, &notification(&callref), "none") {
                            Some(200) => {
                                if acks.send(callref).is_err() {
                                    return;
                                }
                            }
                            Some(other) => panic!("notification answered {other}"),
                            None => return,
                        }
                    }
                })
            })
            .collect();
        drop(acks);
        // Killed in full flow, once this many were acknowledged (more
        // every round: the kill falls at different points of a batch).
        let want = 300 + round * 97;
        let mut got = 0;
        while got < want {
            let callref = acked
                .recv_timeout(Duration::from_secs(30))
                .expect("notifications are acknowledged");
            acknowledged.insert(callref);
            got += 1;
        }
        // SAFETY: kill(2) on the pid of our own child.
        unsafe {
            libc::kill(srv.0.id() as i32, libc::SIGKILL);
        }
        let _ = srv.0.wait();
        for s in senders {
            s.join().expect("sender");
        }
        // Acknowledged while the kill was on its way: counted too.
        acknowledged.extend(acked.try_iter());
    }
    let kept = journaled(&dir);
    let lost: Vec<&String> = acknowledged.iter().filter(|c| !kept.contains(*c)).collect();
    assert!(
        acknowledged.len() >= ROUNDS * 300,
        "{} acknowledged",
        acknowledged.len()
    );
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged notifications are not in the journal, e.g. {:?}",
        lost.len(),
        acknowledged.len(),
        lost.iter().take(5).collect::<Vec<_>>()
    );
}

#[test]
fn a_locked_journal_refuses_notifications_and_holds_up_nothing_else() {
    let dir = TempDir::new("durable-locked");
    let file = server_file(&dir);
    let addr = free_addr();
    let _srv = start(&dir, &file, addr);
    let mut conn = connect(addr);
    assert_eq!(ask(&mut conn, &notification("before"), "none"), Some(200));

    // Another process's write lock on the journal (as a backup or a
    // `sqlite3` shell holds it).
    let locker =
        rusqlite::Connection::open(dir.path().join("journal.sqlite")).expect("open journal");
    locker
        .execute_batch("BEGIN EXCLUSIVE;")
        .expect("take the lock");

    // Notifications are refused (503, which tells Keyyo to send again),
    // while a desk is served as usual, at the same time.
    let refusing = Arc::new(AtomicBool::new(true));
    let r = refusing.clone();
    let notifier = std::thread::spawn(move || {
        let mut conn = connect(addr);
        let mut answers = Vec::new();
        for i in 0..3 {
            answers.push(ask(
                &mut conn,
                &notification(&format!("locked-{i}")),
                "none",
            ));
        }
        r.store(false, Ordering::SeqCst);
        answers
    });
    let mut desk = connect(addr);
    let basic = "Basic cGF1bDpwYXVsLWRlc2stc2VjcmV0";
    let mut served = 0;
    while refusing.load(Ordering::SeqCst) && served < 10_000 {
        assert_eq!(
            ask(&mut desk, "/DhDivaltoServerCTI/api/cti/gettoken", basic),
            Some(200)
        );
        served += 1;
    }
    let answers = notifier.join().expect("notifier");
    assert_eq!(answers, [Some(503), Some(503), Some(503)]);
    assert!(served > 0, "a desk was served while the journal was locked");

    // The lock goes: notifications are taken again (the server finds out
    // by itself, within a few tries).
    locker.execute_batch("ROLLBACK;").expect("release");
    drop(locker);
    let mut status = None;
    let end = Instant::now() + Duration::from_secs(20);
    let mut i = 0;
    while status != Some(200) && Instant::now() < end {
        status = ask(&mut conn, &notification(&format!("after-{i}")), "none");
        assert!(matches!(status, Some(200 | 503)), "{status:?}");
        i += 1;
    }
    assert_eq!(status, Some(200), "the journal is written again");
    let kept = journaled(&dir);
    assert!(kept.contains("before"));
    assert!(
        !kept.iter().any(|c| c.starts_with("locked-")),
        "refused notifications are not kept: {kept:?}"
    );
    assert_eq!(kept.iter().filter(|c| c.starts_with("after-")).count(), 1);
}

/// `<report>` exactly once: calls end while the server is killed (`kill
/// -9`) at moments spread over a loop of rounds, each round's acknowledged
/// call ends noted; a stand-in ERP refuses the first try of every fifth
/// report and notes every report it takes, by `$reportid$`. At the end
/// every acknowledged call was taken by the ERP; a report is taken twice
/// only when a kill fell between the ERP's answer and the outbox's "done"
/// (at most once per kill: reports go one at a time); the outbox is empty.
#[test]
fn kill_9_loses_no_report_and_repeats_none_after_it_is_done() {
    use common::{Recorded, StandIn};
    use std::collections::HashMap;
    use std::sync::Mutex;
    let taken: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let refused_once: Arc<Mutex<HashSet<String>>> = Arc::default();
    let erp = {
        let taken = taken.clone();
        let refused_once = refused_once.clone();
        StandIn::start(move |r: &Recorded| {
            let Some(id) = r.header("X-Report-Id").map(str::to_owned) else {
                return (400, "no id".into());
            };
            let n: usize = id
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if n.is_multiple_of(5) && refused_once.lock().expect("lock").insert(id.clone()) {
                return (500, "busy".into());
            }
            *taken.lock().expect("lock").entry(id).or_default() += 1;
            (200, "OK".into())
        })
    };
    let dir = TempDir::new("durable-report");
    let file = dir.write(
        "server_param.txt",
        &format!(
            "<server>\n<simulator>1\n<journal>journal.sqlite\n<rate>1000000\n\
             <keyyo_notify>\n<secret>{SECRET}\n<sources>127\\.0\\.0\\.1\n<rate>1000000\n\
             <desk>\n<ident>paul\n<secret>paul-desk-secret\n<lines>33972101010\n\
             <report>\n<url>{}\n<headers>X-Report-Id: $reportid$\n<data>state=$state$&tel=$tel$\n<success_body>OK\n",
            erp.url("/report")
        ),
    );
    let mut ended = HashSet::new();
    const ROUNDS: usize = 6;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = 0usize;
    for round in 0..ROUNDS {
        let addr = free_addr();
        let mut srv = start(&dir, &file, addr);
        // Killed after a number of ended calls spread from 5 to 84.
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let kill_after = 5 + (seed >> 33) as usize % 80;
        let mut conn = connect(addr);
        let mut ended_here = 0;
        while ended_here < kill_after {
            let callref = format!("k{round}-{next}");
            next += 1;
            let setup = notification(&callref);
            let release = setup.replace("type=SETUP", "type=RELEASE");
            assert_eq!(ask(&mut conn, &setup, "none"), Some(200));
            assert_eq!(ask(&mut conn, &release, "none"), Some(200));
            ended.insert(callref);
            ended_here += 1;
        }
        // SAFETY: kill(2) on the pid of our own child.
        unsafe {
            libc::kill(srv.0.id() as i32, libc::SIGKILL);
        }
        let _ = srv.0.wait();
    }
    // Up again, for good: every report is taken, the outbox empties.
    let addr = free_addr();
    let _srv = start(&dir, &file, addr);
    let id = |callref: &str| format!("33972101010-{callref}");
    let end = Instant::now() + Duration::from_secs(60);
    let pending = || -> i64 {
        let db = rusqlite::Connection::open(dir.path().join("journal.sqlite")).expect("open");
        db.query_row(
            "SELECT COUNT(*) FROM reports WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )
        .expect("count")
    };
    loop {
        let missing = {
            let taken = taken.lock().expect("lock");
            ended.iter().filter(|c| !taken.contains_key(&id(c))).count()
        };
        if missing == 0 && pending() == 0 {
            break;
        }
        assert!(
            Instant::now() < end,
            "{missing} ended calls never reported; {} still pending",
            pending()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let taken = taken.lock().expect("lock");
    let twice: Vec<(&String, &usize)> = taken.iter().filter(|(_, n)| **n > 1).collect();
    eprintln!(
        "{} calls ended over {ROUNDS} kills; {} reports taken, {} twice",
        ended.len(),
        taken.len(),
        twice.len()
    );
    assert!(
        twice.len() <= ROUNDS,
        "{} reports taken twice for {ROUNDS} kills: {twice:?}",
        twice.len()
    );
    assert!(twice.iter().all(|(_, n)| **n == 2), "{twice:?}");
    // Each was for an ended call; refused first tries were sent again.
    assert!(taken.keys().all(|k| ended.iter().any(|c| &id(c) == k)));
    let refused = refused_once.lock().expect("lock");
    assert!(!refused.is_empty());
    assert!(refused.iter().all(|r| taken.contains_key(r)));
    assert_eq!(ended.len(), taken.len());
}
