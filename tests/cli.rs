//! The built binary on the sample files and on broken input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ctibridge"));
    // Nothing from the machine running the tests.
    let nowhere = std::env::temp_dir().join("ctibridge-tests-no-such-dir");
    c.env("CTIBRIDGE_CONFIG_DIR", nowhere)
        .env_remove("CTIBRIDGE_SYS_DIR");
    c
}

/// The output as text; on Windows with `/` for `\\` in paths, so that the
/// expectations are written once (Windows reads either).
fn text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b).into_owned();
    if cfg!(windows) {
        s.replace('\\', "/")
    } else {
        s
    }
}

/// `check` on the sample sys folder with the given station file.
fn check_with_station(station: &Path, extra: &[&str]) -> Output {
    bin()
        .args(["check", "--sys-dir", "samples", "--station"])
        .arg(station)
        .args(extra)
        .output()
        .expect("run")
}

fn check_samples(extra: &[&str]) -> Output {
    check_with_station(Path::new("samples/station.txt"), extra)
}

/// A temporary folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("ctibridge-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn samples_pass_and_are_explained() {
    let out = check_samples(&[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("error:"),
        "{}",
        text(&out.stderr)
    );
    for want in [
        "interface: clicktocall (<cliktocalldial> has a <url>)",
        "samples/clicktocall_param.txt  (UTF-8)",
        "timeout1                    1  [default]",
        "json_tel                    tel  [samples/clicktocall_param.txt:56]",
        "mdp                         ********  [samples/station.txt:6]",
        "$teldest$  the number to call (command line or ERP)",
        "selected     Cisco Line:[Paul] (1003)",
        "line model   paul  [samples/tapi_param.txt:1]",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains("paul-desk-secret"),
        "the password leaked:\n{stdout}"
    );
}

#[test]
fn samples_as_json() {
    let out = check_samples(&["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], true);
    assert_eq!(v["errors"], 0);
    let e = &v["explanation"];
    assert_eq!(e["interface"]["name"], "clicktocall");
    let files = e["files"].as_array().expect("files");
    assert!(files
        .iter()
        .any(|f| f["role"] == "param" && f["status"] == "read" && f["encoding"] == "utf8"));
    let station = e["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["section"] == "station")
        .expect("station");
    let mdp = station["values"]
        .as_array()
        .expect("values")
        .iter()
        .find(|v| v["tag"] == "mdp")
        .expect("mdp");
    assert_eq!(mdp["value"], "********");
    assert_eq!(mdp["extension"], true);
    let kw: Vec<&str> = e["keywords"]
        .as_array()
        .expect("keywords")
        .iter()
        .map(|k| k["keyword"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kw,
        [
            "$ident$",
            "$telorg$",
            "$teldest$",
            "$event$",
            "$token$",
            "$auth$"
        ]
    );
    assert!(!text(&out.stdout).contains("paul-desk-secret"));
}

#[test]
fn broken_file_as_json_has_positions() {
    let out = bin()
        .args([
            "check",
            "--json",
            "--param",
            "tests/malformed/10_unknown_keyword.txt",
            "--sys-dir",
            "/nonexistent",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert!(v["explanation"].is_null());
    let d = &v["diagnostics"][0];
    assert_eq!(
        (
            d["code"].as_str(),
            d["line"].as_u64(),
            d["column"].as_u64(),
            d["width"].as_u64()
        ),
        (Some("unknown-keyword"), Some(2), Some(34), Some(9))
    );
    assert_eq!(d["help"], "did you mean `$teldest$`?");
}

#[test]
fn a_wrong_command_line_is_a_usage_error_not_a_configuration_error() {
    for args in [
        &["check", "--no-such-option"][..],
        &["watch", "--duration"],
        &["serve", "--listen", "nowhere"],
    ] {
        let out = bin().args(args).output().expect("run");
        assert_eq!(
            out.status.code(),
            Some(64),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("error:"),
            "{}",
            text(&out.stderr)
        );
    }
    // Help is no error.
    let out = bin().args(["check", "--help"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_journal_that_cannot_be_opened_is_the_system_refusing() {
    let dir = TempDir::new("journal-unopenable");
    let out = bin()
        .args(["serve", "--sim", "--listen", "127.0.0.1:0", "--journal"])
        .arg(dir.0.join("no-such-folder").join("journal.sqlite"))
        .output()
        .expect("run");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("error: the call journal"), "{err}");
    assert!(err.contains("no-such-folder"), "{err}");
}

#[test]
fn missing_param_file_is_a_configuration_error() {
    let out = bin()
        .args(["check", "--sys-dir", "/nonexistent/sys"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    // (On Windows the path is absolute on the current drive: `Z:/nonexistent/…`.)
    assert!(err.contains("error: cannot read the param file: "), "{err}");
    assert!(
        err.contains("/nonexistent/sys/clicktocall_param.txt does not exist"),
        "{err}"
    );
    assert!(err.contains("--sys-dir"), "{err}");
}

#[test]
fn sys_dir_from_the_environment() {
    let out = bin()
        .env("CTIBRIDGE_SYS_DIR", "samples")
        .args(["check", "--station", "samples/station.txt"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn local_tapi_wins_over_global() {
    let user = TempDir::new("user");
    std::fs::write(user.0.join("tapi_param.txt"), "anne\n<couleur>1\n").expect("write");
    let out = bin()
        .env("CTIBRIDGE_CONFIG_DIR", &user.0)
        .args([
            "check",
            "--sys-dir",
            "samples",
            "--station",
            "samples/station.txt",
        ])
        .output()
        .expect("run");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("selected     Cisco Line:[Anne] (1004)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("parameters   <image>null <couleur>1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("connector    DhDivaltoTapi.dll  [samples/tapi_param.txt:3]"),
        "{stdout}"
    );
}

#[cfg(unix)]
#[test]
fn password_readable_by_others_is_warned() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("perm");
    let station = dir.0.join("station.txt");
    std::fs::write(&station, "<user>paul\n<mdp>secret\n").expect("write");
    let run = || text(&check_with_station(&station, &[]).stderr);
    std::fs::set_permissions(&station, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = run();
    assert!(
        err.contains("warning: this file holds a password and other users can read it"),
        "{err}"
    );
    assert!(
        err.contains(&format!("chmod 600 {}", station.display())),
        "{err}"
    );
    std::fs::set_permissions(&station, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert!(!run().contains("other users can read it"));
}

#[test]
fn windows_1252_station_file() {
    let dir = TempDir::new("cp1252");
    let station = dir.0.join("station.txt");
    // "; poste de Hélène" then her user name, in Windows-1252, and what
    // else the sample's requests send.
    std::fs::write(
        &station,
        b"; poste de H\xe9l\xe8ne\r\n<user>h\xe9l\xe8ne\r\n<ident>poste-h\xe9l\xe8ne\r\n<telorg>1004\r\n",
    )
    .expect("write");
    let stdout = text(&check_with_station(&station, &[]).stdout);
    assert!(stdout.contains("(Windows-1252)"), "{stdout}");
    assert!(
        stdout.contains("user                        hélène"),
        "{stdout}"
    );
}

#[test]
fn no_arguments_prints_help() {
    let out = bin().output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(help.contains("Usage: ctibridge"), "{help}");
    assert!(help.contains("check"), "{help}");
    assert!(help.contains("Exit codes:"), "{help}");
}

#[test]
fn version() {
    let out = bin().arg("--version").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("ctibridge {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn demo_dials_and_pops_a_call_through_the_simulator_and_stops() {
    let out = bin()
        .arg("demo")
        .env(
            "CTIBRIDGE_CONFIG_DIR",
            std::env::temp_dir().join("ctibridge-demo-test-none"),
        )
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("answered HTTP 200: the call is placed"),
        "{stdout}"
    );
    let ring = stdout
        .lines()
        .find(|l| l.contains("ring "))
        .unwrap_or_else(|| panic!("no ring line: {stdout}"));
    assert!(
        ring.contains("0612345678 → 1003  Jean Martin (Martin & Fils)")
            && ring.contains("screen pop"),
        "{ring}"
    );
    assert!(stdout.contains("summary: dial placed"), "{stdout}");
    // The journal has both calls.
    // Each call as the person saw it, with the same durations in watch's
    // lines and the journal's.
    let shown = |what: &str| {
        stdout
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} line: {stdout}"))
            .to_owned()
    };
    shown("dial     1003 → 0388202020");
    let durations = |l: &str| l[l.find("rang").expect("rang")..].to_owned();
    // The server's directory names both parties, in watch and the journal.
    let made = shown("made      1003 → 0388202020  Marie Dupont (Dupont SA)  answered");
    let released_out = shown("release  1003 → 0388202020");
    assert_eq!(durations(&made), durations(&released_out), "{stdout}");
    let received = shown("received  0612345678 → 1003  Jean Martin (Martin & Fils)  answered");
    let released_in = shown("release  0612345678 → 1003");
    assert_eq!(durations(&received), durations(&released_in), "{stdout}");
    assert!(!stdout.contains(" → ?"), "{stdout}");
    // The screen pop's command ran (its output goes to stderr).
    assert!(
        text(&out.stderr)
            .contains("montée de fiche: the ERP opens Jean Martin (Martin & Fils), record T0002, number 0612345678"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn reference_doc_is_up_to_date() {
    let out = bin().arg("reference").output().expect("run");
    let generated = String::from_utf8_lossy(&out.stdout);
    let committed =
        std::fs::read_to_string(Path::new("docs/param-format.md")).expect("docs/param-format.md");
    assert!(
        generated == committed,
        "docs/param-format.md is stale: run `cargo run -- reference > docs/param-format.md`"
    );
    // Every tag of the table is documented.
    for t in ctibridge::schema::TAGS {
        assert!(
            committed.contains(&format!("`<{}>`", t.name)),
            "{} undocumented",
            t.name
        );
    }
}

#[cfg(unix)]
#[test]
fn install_handler_writes_the_desktop_file_and_sets_the_default() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("handler");
    let bin_dir = dir.0.join("bin");
    std::fs::create_dir_all(&bin_dir).expect("mkdir");
    let record = dir.0.join("xdg-mime.log");
    let fake = bin_dir.join("xdg-mime");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", record.display()),
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.0.join("data");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // This binary is a build (target/debug): refused without --force
    // (--print, which changes nothing, is not).
    let refused = bin()
        .env("XDG_DATA_HOME", &data)
        .env("PATH", &path)
        .args(["install-handler"])
        .output()
        .expect("run");
    assert_eq!(refused.status.code(), Some(64));
    assert!(
        text(&refused.stderr).contains("is a build: links pointing at it stop working"),
        "{}",
        text(&refused.stderr)
    );

    let printed = bin()
        .env("XDG_DATA_HOME", &data)
        .env("PATH", &path)
        .args(["install-handler", "--print", "--force"])
        .output()
        .expect("run");
    assert_eq!(printed.status.code(), Some(0));
    assert!(
        text(&printed.stdout).contains("MimeType=x-scheme-handler/tel;x-scheme-handler/callto;")
    );
    assert!(
        !data.exists() && !record.exists(),
        "--print changed something"
    );

    // The files named on its command line are the ones a click reads.
    let sys = dir.0.join("sys");
    let out = bin()
        .env("XDG_DATA_HOME", &data)
        .env("PATH", &path)
        .arg("--sys-dir")
        .arg(&sys)
        .args(["install-handler", "--force"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let desktop =
        std::fs::read_to_string(data.join("applications/ctibridge.desktop")).expect("desktop file");
    assert!(
        desktop.contains(&format!(
            "Exec={} --sys-dir {} %u",
            env!("CARGO_BIN_EXE_ctibridge"),
            sys.display()
        )),
        "{desktop}"
    );
    assert_eq!(
        std::fs::read_to_string(&record).expect("xdg-mime ran"),
        "default ctibridge.desktop x-scheme-handler/tel\ndefault ctibridge.desktop x-scheme-handler/callto\n"
    );

    // uninstall-handler removes the file; a second time, nothing to do.
    let out = bin()
        .env("XDG_DATA_HOME", &data)
        .arg("uninstall-handler")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("removed"),
        "{}",
        text(&out.stdout)
    );
    assert!(!data.join("applications/ctibridge.desktop").exists());
    let again = bin()
        .env("XDG_DATA_HOME", &data)
        .arg("uninstall-handler")
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again.stdout).contains("was not there"));
}

/// Windows: install-handler sets tel:, callto: and sip: in the current
/// user's registry (the tests' Wine prefix is their scratch registry), with
/// the files named on its command line; `--print` is the same as a .reg
/// file and changes nothing; uninstall-handler removes what it wrote and
/// leaves a scheme another program took since.
#[cfg(windows)]
#[test]
fn install_handler_registers_the_links_in_the_users_registry() {
    use windows_registry::CURRENT_USER;
    let command = |s: &str| {
        CURRENT_USER
            .open(format!(r"Software\Classes\{s}\shell\open\command"))
            .and_then(|k| k.get_string(""))
            .ok()
    };
    let _ = CURRENT_USER.remove_tree(r"Software\Classes\tel");
    let printed = bin()
        .args([
            "--sys-dir",
            r"C:\Divalto\Sys",
            "install-handler",
            "--print",
            "--force",
        ])
        .output()
        .expect("run");
    assert_eq!(printed.status.code(), Some(0), "{}", text(&printed.stderr));
    let reg = String::from_utf8_lossy(&printed.stdout).into_owned();
    assert!(
        reg.contains("Windows Registry Editor Version 5.00"),
        "{reg}"
    );
    assert!(
        reg.contains(r#"\"--sys-dir\" \"C:\\Divalto\\Sys\" \"%1\""#),
        "{reg}"
    );
    assert_eq!(command("tel"), None, "--print changed the registry");

    let out = bin()
        .args(["--sys-dir", r"C:\Divalto\Sys", "install-handler", "--force"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let exe = std::path::absolute(env!("CARGO_BIN_EXE_ctibridge")).expect("exe");
    for s in ["tel", "callto", "sip"] {
        assert_eq!(
            command(s).as_deref(),
            Some(format!(r#""{}" "--sys-dir" "C:\Divalto\Sys" "%1""#, exe.display()).as_str()),
            "{s}"
        );
    }
    let apps = CURRENT_USER
        .open(r"Software\RegisteredApplications")
        .and_then(|k| k.get_string("ctibridge"))
        .expect("registered");
    assert_eq!(apps, r"Software\ctibridge\Capabilities");

    // Another program takes sip: links; uninstall leaves them to it.
    CURRENT_USER
        .create(r"Software\Classes\sip\shell\open\command")
        .and_then(|k| k.set_string("", r#""C:\Phone\phone.exe" "%1""#))
        .expect("another program");
    let out = bin().arg("uninstall-handler").output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(command("tel"), None);
    assert_eq!(command("callto"), None);
    assert_eq!(
        command("sip").as_deref(),
        Some(r#""C:\Phone\phone.exe" "%1""#)
    );
    assert!(CURRENT_USER.open(r"Software\ctibridge").is_err());
    assert!(CURRENT_USER
        .open(r"Software\Classes\ctibridge.url")
        .is_err());
    let _ = CURRENT_USER.remove_tree(r"Software\Classes\sip");
}

/// A hostile or broken file gets a bounded answer: thousands of the same
/// mistake on one long line are reported fifty times (each line shown
/// around the spot), then counted; a file over 1 MB is refused unread.
#[test]
fn a_huge_file_gets_a_bounded_answer() {
    let dir = std::env::temp_dir().join(format!("ctibridge-cli-huge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    // 8 000 headers each using a token that is never requested: one error
    // each, on one line of 135 KB (the report was 1 GB).
    let headers: Vec<String> = (0..8000).map(|i| format!("X-H{i}: $token$")).collect();
    let param = dir.join("many.txt");
    std::fs::write(
        &param,
        format!(
            "<cliktocalldial>\n<url>http://h/d?t=$teldest$\n<headers>{}\n",
            headers.join("|")
        ),
    )
    .expect("write");
    let out = bin()
        .args(["check", "--param"])
        .arg(&param)
        .arg("--sys-dir")
        .arg(&dir)
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.matches("error: `$token$` is used").count(), 50);
    assert!(
        err.contains("… and 7950 more problems"),
        "{}",
        &err[err.len().saturating_sub(500)..]
    );
    assert!(err.contains("8000 errors found"));
    assert!(
        err.len() + out.stdout.len() < 100_000,
        "{} bytes",
        err.len()
    );
    assert!(
        err.lines().all(|l| l.chars().count() < 200),
        "long lines are cut"
    );

    let json = bin()
        .args(["check", "--json", "--param"])
        .arg(&param)
        .arg("--sys-dir")
        .arg(&dir)
        .output()
        .expect("check --json");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["diagnostics"].as_array().map(Vec::len), Some(50));
    assert_eq!(v["not_shown"], 7950);
    assert_eq!(v["errors"], 8000);

    let big = dir.join("big.txt");
    std::fs::write(&big, "a".repeat(1024 * 1024 + 1)).expect("write");
    let out = bin()
        .args(["check", "--param"])
        .arg(&big)
        .arg("--sys-dir")
        .arg(&dir)
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("the file has 1048577 bytes; a param file has at most 1048576 (1 MB)"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every subcommand, as `ctibridge --help` lists them.
fn subcommands() -> Vec<String> {
    let out = bin().arg("--help").output().expect("help");
    let help = text(&out.stdout);
    let commands = help
        .split_once("Commands:")
        .expect("a list of commands")
        .1
        .split("\n\n")
        .next()
        .expect("commands");
    // A command's line starts two spaces in; a wrapped description, more.
    commands
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn completions_and_man_pages_cover_every_subcommand() {
    let commands = subcommands();
    assert!(commands.len() >= 12, "{commands:?}");
    for shell in ["bash", "zsh", "fish"] {
        let out = bin()
            .args(["completions", shell])
            .output()
            .expect("completions");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let script = text(&out.stdout);
        for c in &commands {
            assert!(script.contains(c.as_str()), "{shell}: no {c}");
        }
    }
    let out = bin()
        .args(["completions", "tcsh"])
        .output()
        .expect("completions");
    assert_eq!(
        out.status.code(),
        Some(64),
        "an unknown shell is a usage error"
    );

    let dir = std::env::temp_dir().join(format!("ctibridge-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = bin().arg("man").arg(&dir).output().expect("man");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut pages = vec![dir.join("ctibridge.1")];
    pages.extend(
        commands
            .iter()
            .map(|c| dir.join(format!("ctibridge-{c}.1"))),
    );
    for page in &pages {
        let roff =
            std::fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
        assert!(
            roff.starts_with(".ie") || roff.contains(".TH"),
            "{}",
            page.display()
        );
        // Rendered by man itself where it is installed.
        if cfg!(unix) && Path::new("/usr/bin/man").exists() {
            let shown = Command::new("/usr/bin/man")
                .args(["-l", "-P", "cat"])
                .arg(page)
                .env("MANWIDTH", "80")
                .output()
                .expect("man -l");
            assert_eq!(shown.status.code(), Some(0), "{}", text(&shown.stderr));
            assert!(text(&shown.stdout).contains("NAME"), "{}", page.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each profile's header tells the user what to write, with its own name.
#[test]
fn every_profile_header_names_its_own_provider() {
    for entry in std::fs::read_dir("params").expect("params") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_owned();
        let text = std::fs::read_to_string(&path).expect("profile");
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with(';'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(header.contains("needs two lines:"), "{name}: {header}");
        assert!(
            header.contains(&format!(";   <provider>{name}\n")),
            "{name}: {header}"
        );
        // And the profile is there to show.
        let out = bin()
            .args(["profiles", "show", &name])
            .output()
            .expect("profiles show");
        assert_eq!(out.status.code(), Some(0), "{name}");
    }
}

/// `--listen` written as a port alone or with a name says what it wants;
/// a port in use says which.
#[test]
fn listen_addresses_are_explained() {
    for (given, says) in [
        ("8082", "`8082` is a port alone"),
        ("localhost:8083", "`localhost` is a name: the address to listen on is an IP address (`127.0.0.1:8083` for this machine)"),
    ] {
        let out = bin().args(["serve", "--sim", "--listen", given]).output().expect("serve");
        assert_eq!(out.status.code(), Some(64), "{given}");
        let err = text(&out.stderr);
        assert!(err.contains(says), "{given}: {err}");
        assert!(err.contains("127.0.0.1:8082 (this machine)"), "{err}");
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let out = bin()
        .args(["serve", "--sim", "--listen", &addr.to_string()])
        .output()
        .expect("serve");
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot serve on {addr}: another program listens on port {} already",
            addr.port()
        )),
        "{err}"
    );
}

/// A station file named with --station that does not exist is an error
/// (dial would fail for want of its settings), not "not used".
#[test]
fn a_named_station_file_that_does_not_exist_is_an_error() {
    let out = check_with_station(Path::new("/nonexistent/station.txt"), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("error: the station settings named with --station do not exist"),
        "{err}"
    );
    assert!(err.contains("/nonexistent/station.txt"), "{err}");
}

/// `check --server --json` explains the server file as data, like `check
/// --json` does a desk's, and no secret is in it.
#[test]
fn check_server_json_is_structured() {
    let out = bin()
        .args(["check", "--json", "--server", "samples/server_param.txt"])
        .output()
        .expect("check");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let e = &v["explanation"];
    assert_eq!(e["listen"], "127.0.0.1:8082", "{e}");
    assert_eq!(e["scheme"], "http");
    assert_eq!(e["trusted_proxies"][0], "127.0.0.1/32");
    assert_eq!(e["dials"]["provider"], "keyyo");
    assert_eq!(e["desks"][0]["ident"], "accueil");
    assert_eq!(e["desks"][0]["lines"][0], "+33388202020");
    assert!(e["keyyo_notify"]["url"]
        .as_str()
        .expect("url")
        .contains("secret=SECRET&"));
    let sample = std::fs::read_to_string("samples/server_param.txt").expect("sample");
    for secret in sample
        .lines()
        .filter_map(|l| l.strip_prefix("<secret>"))
        .filter(|s| !s.is_empty())
    {
        assert!(!stdout.contains(secret), "a secret in the output: {secret}");
    }
}

/// What a newcomer types first: a file given to `check` as it is, help
/// that fits the terminal with `demo` on top, arguments described, and
/// completions offering only what is taken.
#[test]
fn the_command_line_meets_a_newcomer() {
    // A param file, and a server file, given to `check` directly.
    let out = bin()
        .args([
            "check",
            "samples/clicktocall_param.txt",
            "--station",
            "samples/station.txt",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = bin()
        .args(["check", "samples/server_param.txt"])
        .output()
        .expect("run");
    assert!(
        text(&out.stdout).contains("listens on"),
        "{}",
        text(&out.stdout)
    );
    // --help wraps at the terminal's width (COLUMNS when not a terminal).
    let out = bin()
        .arg("--help")
        .env("COLUMNS", "80")
        .output()
        .expect("run");
    let help = text(&out.stdout);
    let widest = help.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 90, "a help line of {widest} characters:\n{help}");
    let first = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .nth(1)
        .unwrap_or("");
    assert!(first.trim_start().starts_with("demo "), "{help}");
    // `sim call` says what FROM and TO are.
    let out = bin().args(["sim", "call", "--help"]).output().expect("run");
    let help = text(&out.stdout);
    for arg in ["<FROM>", "<TO>"] {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(arg))
            .unwrap_or("");
        assert!(
            line.trim().len() > arg.len() + 5,
            "{arg} undescribed:\n{help}"
        );
    }
    // Completions offer no option that is refused.
    for shell in ["bash", "zsh", "fish"] {
        let out = bin().args(["completions", shell]).output().expect("run");
        let script = text(&out.stdout);
        assert!(script.contains("keyyo-sources"), "{shell}");
        assert!(
            !script.contains("keyyo-secret"),
            "{shell} offers --keyyo-secret"
        );
    }
    // install-handler --print changes nothing: it runs from a build folder.
    let out = bin()
        .args(["install-handler", "--print"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The man pages say more than `--help`: the files, examples, the server
/// file.
#[test]
fn the_man_pages_have_files_examples_and_the_server_file() {
    let dir = TempDir::new("man");
    let out = bin().arg("man").arg(&dir.0).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = std::fs::read_to_string(dir.0.join("ctibridge.1")).expect("ctibridge.1");
    for section in [".SH FILES", ".SH EXAMPLES", ".SH \"SEE ALSO\""] {
        assert!(page.contains(section), "no {section} in ctibridge.1");
    }
    assert!(page.contains("clicktocall_param.txt") && page.contains("station.txt"));
    let serve = std::fs::read_to_string(dir.0.join("ctibridge-serve.1")).expect("serve.1");
    for section in [".SH \"THE SERVER FILE\"", ".SH FILES", ".SH EXAMPLES"] {
        assert!(serve.contains(section), "no {section} in ctibridge-serve.1");
    }
}

/// `check --server` explains the server's `<lookup>` and `<report>` too.
#[test]
fn check_server_explains_the_lookup_and_the_reports() {
    let dir = TempDir::new("check-lookup");
    std::fs::write(dir.0.join("people.csv"), "name;phone\nBob;0388202020\n").expect("csv");
    let file = dir.0.join("server_param.txt");
    std::fs::write(
        &file,
        "<server>\n<simulator>1\n<lookup>\n<directory>people.csv\n\
         <report>\n<url>https://erp.example/cti/report?tel=$tel$&key=abc123\n<methode>GET\n<success_body>OK\n",
    )
    .expect("server file");
    let out = bin()
        .args(["check", "--server"])
        .arg(&file)
        .output()
        .expect("run");
    let said = text(&out.stdout);
    assert!(
        said.contains("lookup         who calls, from the directory"),
        "{said}"
    );
    assert!(
        said.contains("reports        all calls, each once"),
        "{said}"
    );
    assert!(!said.contains("abc123"), "{said}");
}

/// A directory that never ends (`/dev/zero`) is refused after a bounded
/// read, saying so.
#[cfg(unix)]
#[test]
fn an_endless_directory_is_refused_not_read() {
    let out = bin()
        .args(["lookup", "0388202020", "--directory", "/dev/zero"])
        .output()
        .expect("run");
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("a directory of names has at most"), "{err}");
}

/// `watch --install-startup` starts watch at the user's logon with the
/// files named on its command line (an XDG autostart entry here; the Run
/// key on Windows), `--print` changes nothing, `--uninstall-startup` undoes
/// it.
#[test]
fn watch_can_start_at_logon_and_stop_doing_so() {
    let dir = TempDir::new("startup");
    let config = dir.0.join("config");
    let sys = dir.0.join("sys");
    let run = |args: &[&str]| {
        bin()
            .env("XDG_CONFIG_HOME", &config)
            .arg("--sys-dir")
            .arg(&sys)
            .arg("watch")
            .args(args)
            .output()
            .expect("run")
    };
    let refused = run(&["--install-startup"]);
    assert_eq!(refused.status.code(), Some(64), "a build is refused");
    let printed = run(&["--install-startup", "--print"]);
    assert_eq!(printed.status.code(), Some(0), "{}", text(&printed.stderr));
    assert!(
        text(&printed.stdout).contains("--background"),
        "{}",
        text(&printed.stdout)
    );
    assert!(!config.exists(), "--print wrote something");
    let done = run(&["--install-startup", "--force"]);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    let sys_shown = std::path::absolute(&sys).expect("absolute");
    #[cfg(unix)]
    {
        let entry = std::fs::read_to_string(config.join("autostart/ctibridge-watch.desktop"))
            .expect("autostart entry");
        assert!(
            entry.contains(&format!(
                "Exec={} --sys-dir {} watch --background\n",
                env!("CARGO_BIN_EXE_ctibridge"),
                sys_shown.display()
            )),
            "{entry}"
        );
    }
    #[cfg(windows)]
    {
        let value = windows_registry::CURRENT_USER
            .open(r"Software\Microsoft\Windows\CurrentVersion\Run")
            .and_then(|k| k.get_string("ctibridge watch"))
            .expect("the Run value");
        let exe = std::path::absolute(env!("CARGO_BIN_EXE_ctibridge")).expect("exe");
        assert_eq!(
            value,
            format!(
                r#""{}" "--sys-dir" "{}" "watch" "--background""#,
                exe.display(),
                sys_shown.display()
            )
        );
    }
    let undone = run(&["--uninstall-startup"]);
    assert_eq!(undone.status.code(), Some(0), "{}", text(&undone.stderr));
    assert!(
        text(&undone.stdout).contains("removed"),
        "{}",
        text(&undone.stdout)
    );
    #[cfg(unix)]
    assert!(!config.join("autostart/ctibridge-watch.desktop").exists());
    #[cfg(windows)]
    assert!(windows_registry::CURRENT_USER
        .open(r"Software\Microsoft\Windows\CurrentVersion\Run")
        .and_then(|k| k.get_string("ctibridge watch"))
        .is_err());
    let again = run(&["--uninstall-startup"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        text(&again.stdout).contains("was not there"),
        "{}",
        text(&again.stdout)
    );
}

/// Windows: with no folder named, the sys folder is `C:\Divalto\Sys` and
/// the user's files are in `%APPDATA%\ctibridge\config`, as `check` says;
/// a station file there, written by Notepad in UTF-16 with its BOM and
/// CRLF, is read.
#[cfg(windows)]
#[test]
fn the_windows_folders_are_where_windows_keeps_them() {
    let appdata = std::env::var("APPDATA").expect("APPDATA");
    let config = Path::new(&appdata).join("ctibridge").join("config");
    std::fs::create_dir_all(&config).expect("mkdir");
    let station = config.join("station.txt");
    let mut utf16 = vec![0xff, 0xfe];
    for unit in "<user>hélène\r\n<ident>poste-2\r\n<telorg>1004\r\n".encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    std::fs::write(&station, utf16).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_ctibridge"))
        .env_remove("CTIBRIDGE_CONFIG_DIR")
        .env_remove("CTIBRIDGE_SYS_DIR")
        .args(["check", "--param", "samples/clicktocall_param.txt"])
        .output()
        .expect("run");
    let _ = std::fs::remove_file(&station);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{}  (UTF-16LE with BOM)", station.display())),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(r"C:\Divalto\Sys\tapi_param.txt"),
        "{stdout}"
    );
    assert!(
        stdout.contains("user                        hélène"),
        "{stdout}"
    );
}
