//! The malformed-file corpus: every `tests/malformed/*.txt` is checked by the
//! built binary and its diagnostics are compared with the golden
//! `*.expected` next to it. `UPDATE_GOLDEN=1 cargo test --test malformed`
//! rewrites the goldens; review the diff before committing it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn check(param: &Path) -> String {
    check_as(param, "--param")
}

/// `check --server FILE`: the bridge server's file.
fn check_server(file: &Path) -> String {
    check_as(file, "--server")
}

fn check_as(param: &Path, flag: &str) -> String {
    // As a file holding secrets is kept (the goldens do not depend on the
    // mode a checkout gives it; the warning is tested in tests/serve.rs).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(param, std::fs::Permissions::from_mode(0o600));
    }
    let empty = std::env::temp_dir().join("ctibridge-tests-no-such-dir");
    let out = Command::new(env!("CARGO_BIN_EXE_ctibridge"))
        .arg("check")
        .arg(flag)
        .arg(param)
        .arg("--sys-dir")
        .arg(&empty)
        // No station file: the config folder has none (a station named
        // with --station must exist).
        .env("CTIBRIDGE_CONFIG_DIR", &empty)
        .env_remove("CTIBRIDGE_SYS_DIR")
        .output()
        .expect("run ctibridge");
    format!(
        "{}exit: {}\n",
        String::from_utf8_lossy(&out.stderr),
        out.status.code().unwrap_or(-1)
    )
}

#[test]
fn malformed_files_match_their_goldens() {
    compare(Path::new("tests/malformed"), check, 40);
}

#[test]
fn malformed_server_files_match_their_goldens() {
    compare(Path::new("tests/malformed-server"), check_server, 4);
}

fn compare(dir: &Path, check: fn(&Path) -> String, at_least: usize) {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("tests/malformed")
        // Named with `/` on every platform (Windows takes it): the goldens
        // quote the name as given.
        .map(|e| {
            let name = e.expect("entry").file_name();
            PathBuf::from(format!("{}/{}", dir.display(), name.to_string_lossy()))
        })
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= at_least,
        "the corpus has {} files",
        cases.len()
    );
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let got = check(case);
        let golden = case.with_extension("expected");
        if update {
            std::fs::write(&golden, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "--- {}\n{}\n+++ got\n{}",
                golden.display(),
                want,
                got
            ));
        }
        // Every malformed file says something.
        assert!(
            got.contains("error:") || got.contains("warning:"),
            "{} yields no diagnostic",
            case.display()
        );
    }
    assert!(
        failures.is_empty(),
        "{} golden(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
