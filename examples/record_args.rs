//! A stand-in program for tests/watch.rs on Windows (where its shell-script
//! stand-ins cannot run): it appends the arguments it was started with to
//! the file beside it named like it with `.log` (`fiche.exe` → `fiche.log`),
//! one line per run, the words separated by U+001F, in one write so that
//! runs side by side do not interleave. Built by tests/windows/run-tests.sh.

use std::io::Write as _;

fn main() {
    let exe = std::env::current_exe().expect("this program's path");
    let log = exe.with_extension("log");
    let mut line: String = std::env::args()
        .skip(1)
        .map(|a| format!("{a}\u{1f}"))
        .collect();
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    f.write_all(line.as_bytes())
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()));
}
