//! `ctibridge install-handler`: makes ctibridge the desktop's handler for
//! `tel:` and `callto:` links, so a click in any application dials.

pub use crate::events::popup::notify_now;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The URI schemes ctibridge handles on an XDG desktop.
pub(crate) const SCHEMES: &[&str] = &["tel", "callto"];
/// And on Windows, where IP phones' software and ERPs also launch `sip:`.
pub(crate) const WINDOWS_SCHEMES: &[&str] = &["tel", "callto", "sip"];

/// What installing does: files to write, commands to run, values to set
/// in the current user's registry (Windows).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub files: Vec<(PathBuf, String)>,
    pub commands: Vec<Vec<String>>,
    /// Under `HKEY_CURRENT_USER`, in order.
    pub registry: Vec<RegValue>,
    /// Text for the user to apply by hand.
    pub manual: Option<String>,
}

/// A string value under `HKEY_CURRENT_USER`: `name` `None` is the key's
/// default value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegValue {
    pub key: String,
    pub name: Option<String>,
    pub value: String,
}

impl Plan {
    /// What `--print` shows.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (path, text) in &self.files {
            let _ = writeln!(out, "# write {}\n{text}", path.display());
        }
        for c in &self.commands {
            let _ = writeln!(
                out,
                "# run\n{}\n",
                c.iter()
                    .map(|w| shell_words::quote(w).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        if !self.registry.is_empty() {
            let _ = writeln!(
                out,
                "; the registry values, as a .reg file (regedit imports it)\n{}",
                reg_text(&self.registry)
            );
        }
        if let Some(m) = &self.manual {
            let _ = writeln!(out, "{m}");
        }
        out
    }
}

/// The plan for an XDG desktop (Linux, BSD): a `.desktop` file in
/// `$XDG_DATA_HOME/applications` (default `~/.local/share/applications`),
/// then `xdg-mime default` for each scheme.
pub(crate) fn xdg_plan(
    exe: &Path,
    args: &[String],
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Plan, String> {
    let data_home = xdg_home(&env, "XDG_DATA_HOME", ".local/share")?;
    let mime: String = SCHEMES
        .iter()
        .map(|s| format!("x-scheme-handler/{s};"))
        .collect();
    let desktop = format!(
        "[Desktop Entry]\nType=Application\nName=ctibridge\nComment=Dial tel: and callto: links through the telephony provider\nExec={} %u\nTerminal=false\nNoDisplay=true\nMimeType={mime}\n",
        std::iter::once(exe.to_string_lossy().into_owned())
            .chain(args.iter().cloned())
            .map(|a| desktop_quote(&a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let commands = SCHEMES
        .iter()
        .map(|s| {
            vec![
                "xdg-mime".to_owned(),
                "default".to_owned(),
                "ctibridge.desktop".to_owned(),
                format!("x-scheme-handler/{s}"),
            ]
        })
        .collect();
    Ok(Plan {
        files: vec![(
            data_home.join("applications").join("ctibridge.desktop"),
            desktop,
        )],
        commands,
        ..Plan::default()
    })
}

/// Its URL class (the ProgID the schemes point to in Windows' settings).
pub(crate) const REG_PROGID: &str = "ctibridge.url";
/// Its application user model id: toasts come from it (registered under
/// `Classes\AppUserModelId`, Windows shows its name on them).
pub const APP_ID: &str = "ctibridge.desk";

/// The registry values that make ctibridge the current Windows user's
/// handler of `tel:`, `callto:` and `sip:` links, under `root` (the
/// user's `Software`; tests use a scratch key): each scheme's class with its
/// open command, and ctibridge as an application that can take them
/// (Settings > Default apps lists it, for a user whose links another
/// application took before). No administrator rights: all in
/// `HKEY_CURRENT_USER`.
pub(crate) fn windows_plan(root: &str, exe: &str, args: &[String]) -> Plan {
    let command = std::iter::once(exe.to_owned())
        .chain(args.iter().cloned())
        .map(|a| crate::launch::windows_quote(&a))
        .chain(std::iter::once("\"%1\"".to_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let value = |key: String, name: Option<&str>, value: &str| RegValue {
        key,
        name: name.map(str::to_owned),
        value: value.to_owned(),
    };
    let classes = format!(r"{root}\Classes");
    let mut registry = Vec::new();
    for s in WINDOWS_SCHEMES {
        registry.push(value(format!(r"{classes}\{s}"), None, &format!("URL:{s}")));
        registry.push(value(format!(r"{classes}\{s}"), Some("URL Protocol"), ""));
        registry.push(value(
            format!(r"{classes}\{s}\shell\open\command"),
            None,
            &command,
        ));
    }
    registry.push(value(
        format!(r"{classes}\{REG_PROGID}"),
        None,
        "ctibridge: dial the number",
    ));
    registry.push(value(
        format!(r"{classes}\{REG_PROGID}"),
        Some("URL Protocol"),
        "",
    ));
    registry.push(value(
        format!(r"{classes}\{REG_PROGID}\shell\open\command"),
        None,
        &command,
    ));
    // The toasts' sender, as Windows names it (desktop programs without a
    // Start menu shortcut: the AppUserModelId key).
    registry.push(value(
        format!(r"{classes}\AppUserModelId\{APP_ID}"),
        Some("DisplayName"),
        "ctibridge",
    ));
    let app = format!(r"{root}\ctibridge");
    registry.push(value(
        format!(r"{app}\Capabilities"),
        Some("ApplicationName"),
        "ctibridge",
    ));
    registry.push(value(
        format!(r"{app}\Capabilities"),
        Some("ApplicationDescription"),
        "Dials tel:, callto: and sip: links through the telephony provider",
    ));
    for s in WINDOWS_SCHEMES {
        registry.push(value(
            format!(r"{app}\Capabilities\URLAssociations"),
            Some(s),
            REG_PROGID,
        ));
    }
    registry.push(value(
        format!(r"{root}\RegisteredApplications"),
        Some("ctibridge"),
        // A path from HKEY_CURRENT_USER.
        &format!(r"{app}\Capabilities"),
    ));
    Plan {
        registry,
        ..Plan::default()
    }
}

/// `values` as a `.reg` file (Windows Registry Editor 5.00).
fn reg_text(values: &[RegValue]) -> String {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = String::from("Windows Registry Editor Version 5.00\n");
    let mut key = None;
    for v in values {
        if key != Some(&v.key) {
            let _ = write!(out, "\n[HKEY_CURRENT_USER\\{}]\n", v.key);
            key = Some(&v.key);
        }
        let name = v
            .name
            .as_deref()
            .map_or_else(|| "@".to_owned(), |n| format!("\"{}\"", escape(n)));
        let _ = writeln!(out, "{name}=\"{}\"", escape(&v.value));
    }
    out
}

/// Whether `exe` lies in a Cargo build folder (`target/debug`,
/// `target/release`, a cross build's `target/<triple>/debug`): a link
/// handler pointing there stops working when the folder is cleaned or
/// rebuilt.
pub fn in_build_folder(exe: &Path) -> bool {
    let parts: Vec<_> = exe.components().map(|c| c.as_os_str().to_owned()).collect();
    let profile = |p: &std::ffi::OsString| p == "debug" || p == "release";
    // `target/debug`, or a cross build's `target/<triple>/debug`.
    parts.iter().enumerate().any(|(i, p)| {
        p == "target"
            && (parts.get(i + 1).is_some_and(profile) || parts.get(i + 2).is_some_and(profile))
    })
}

/// The plan for this platform.
/// `args` go before the link (`--sys-dir`, `--param`, `--station`: the
/// files the handler's dials read). `env` reads the environment (the
/// binary's: `XDG_DATA_HOME`, `HOME`).
pub fn plan_for_this_platform(
    exe: &Path,
    args: &[String],
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<Plan, String> {
    if cfg!(windows) {
        Ok(windows_plan("Software", &exe.to_string_lossy(), args))
    } else if cfg!(target_os = "macos") {
        Err(
            "registering a URL handler on macOS needs an application bundle; not supported yet"
                .to_owned(),
        )
    } else {
        xdg_plan(exe, args, env)
    }
}

/// Quotes an `Exec=` argument as the desktop entry specification asks.
fn desktop_quote(arg: &str) -> String {
    if arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        return arg.to_owned();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Carries out a plan: writes the files, runs the commands. A missing
/// `xdg-mime` is reported, not fatal: the `.desktop` file is in place.
pub fn install(plan: &Plan) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    for (path, text) in &plan.files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        notes.push(format!("wrote {}", path.display()));
    }
    for c in &plan.commands {
        match std::process::Command::new(&c[0]).args(&c[1..]).status() {
            Ok(s) if s.success() => notes.push(format!("ran {}", c.join(" "))),
            Ok(s) => return Err(format!("`{}` failed ({s})", c.join(" "))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                notes.push(format!(
                    "warning: {} is not installed: run `{}` once it is",
                    c[0],
                    c.join(" ")
                ));
            }
            Err(e) => return Err(format!("cannot run {}: {e}", c[0])),
        }
    }
    if !plan.registry.is_empty() {
        write_registry(&plan.registry)?;
        notes.push(format!(
            "set {} values under HKEY_CURRENT_USER: tel:, callto: and sip: links open ctibridge",
            plan.registry.len()
        ));
    }
    if let Some(m) = &plan.manual {
        notes.push(m.clone());
    }
    Ok(notes)
}

/// What `uninstall-handler` removes: exactly what [`install`] wrote —
/// the desktop file (XDG), or (Windows) ctibridge's own keys and the
/// schemes whose open command is ctibridge's (a scheme another program
/// took since is left to it).
pub fn uninstall_for_this_platform(
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Vec<String>, String> {
    if cfg!(windows) {
        remove_registry("Software")
    } else {
        let plan = xdg_plan(Path::new("ctibridge"), &[], env)?;
        let mut notes = Vec::new();
        for (path, _) in &plan.files {
            match std::fs::remove_file(path) {
                Ok(()) => notes.push(format!("removed {}", path.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    notes.push(format!("{} was not there", path.display()))
                }
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Ok(notes)
    }
}

/// Where Windows starts a user's programs at logon.
pub(crate) const RUN_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";
/// Its value for `watch`.
pub(crate) const RUN_VALUE: &str = "ctibridge watch";

/// Starting `ctibridge watch` at the user's logon, with `args` (the files
/// it reads) before it: on Windows a value of the user's `Run` key (no
/// administrator), `watch --background` so that its console window goes
/// away; on an XDG desktop an autostart entry
/// (`$XDG_CONFIG_HOME/autostart`, default `~/.config/autostart`).
pub fn startup_plan(
    exe: &Path,
    args: &[String],
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Plan, String> {
    let words: Vec<String> = std::iter::once(exe.to_string_lossy().into_owned())
        .chain(args.iter().cloned())
        .chain(["watch".to_owned(), "--background".to_owned()])
        .collect();
    if cfg!(windows) {
        return Ok(Plan {
            registry: vec![RegValue {
                key: RUN_KEY.to_owned(),
                name: Some(RUN_VALUE.to_owned()),
                value: words
                    .iter()
                    .map(|w| crate::launch::windows_quote(w))
                    .collect::<Vec<_>>()
                    .join(" "),
            }],
            ..Plan::default()
        });
    }
    let entry = format!(
        "[Desktop Entry]\nType=Application\nName=ctibridge watch\nComment=Follows the calls and opens the caller's record\nExec={}\nTerminal=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n",
        words
            .iter()
            .map(|w| desktop_quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Ok(Plan {
        files: vec![(autostart_file(&env)?, entry)],
        ..Plan::default()
    })
}

/// The XDG autostart entry of `watch`.
fn autostart_file(env: &impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, String> {
    let config = xdg_home(env, "XDG_CONFIG_HOME", ".config")?;
    Ok(config.join("autostart").join("ctibridge-watch.desktop"))
}

/// An XDG base folder: `var` when set, else `~/{default}`.
fn xdg_home(
    env: &impl Fn(&str) -> Option<OsString>,
    var: &str,
    default: &str,
) -> Result<PathBuf, String> {
    match env(var).filter(|v| !v.is_empty()) {
        Some(d) => Ok(PathBuf::from(d)),
        None => env("HOME")
            .filter(|v| !v.is_empty())
            .map(|h| PathBuf::from(h).join(default))
            .ok_or_else(|| format!("neither {var} nor HOME is set")),
    }
}

/// Undoes [`startup_plan`]: removes the `Run` value or the autostart entry.
pub fn remove_startup(env: impl Fn(&str) -> Option<OsString>) -> Result<Vec<String>, String> {
    if cfg!(windows) {
        return remove_run_value();
    }
    let path = autostart_file(&env)?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(vec![format!("removed {}", path.display())]),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(vec![format!("{} was not there", path.display())])
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(windows)]
fn remove_run_value() -> Result<Vec<String>, String> {
    let shown = format!(r"HKEY_CURRENT_USER\{RUN_KEY}\{RUN_VALUE}");
    match windows_registry::CURRENT_USER
        .options()
        .read()
        .write()
        .open(RUN_KEY)
    {
        Ok(k) if k.get_string(RUN_VALUE).is_ok() => {
            k.remove_value(RUN_VALUE)
                .map_err(|e| format!("{shown}: {e}"))?;
            Ok(vec![format!("removed {shown}")])
        }
        _ => Ok(vec![format!("{shown} was not there")]),
    }
}

#[cfg(not(windows))]
fn remove_run_value() -> Result<Vec<String>, String> {
    Err("the Windows registry exists on Windows only".to_owned())
}

/// Sets `values` under `HKEY_CURRENT_USER`.
/// Sets `values` under `HKEY_CURRENT_USER`.
#[cfg(windows)]
fn write_registry(values: &[RegValue]) -> Result<(), String> {
    for v in values {
        let key = windows_registry::CURRENT_USER
            .create(&v.key)
            .map_err(|e| format!(r"HKEY_CURRENT_USER\{}: {e}", v.key))?;
        key.set_string(v.name.as_deref().unwrap_or(""), &v.value)
            .map_err(|e| format!(r"HKEY_CURRENT_USER\{}: {e}", v.key))?;
    }
    Ok(())
}

#[cfg(not(windows))]
fn write_registry(_values: &[RegValue]) -> Result<(), String> {
    Err("the Windows registry exists on Windows only".to_owned())
}

/// Removes what [`windows_plan`] wrote under `root` (`Software`, or a
/// test's scratch key) of `HKEY_CURRENT_USER`.
#[cfg(windows)]
pub fn remove_registry(root: &str) -> Result<Vec<String>, String> {
    use windows_registry::CURRENT_USER;
    let hkcu = |k: &str| format!(r"HKEY_CURRENT_USER\{k}");
    let mut notes = Vec::new();
    let classes = format!(r"{root}\Classes");
    for s in WINDOWS_SCHEMES {
        let key = format!(r"{classes}\{s}");
        let ours = CURRENT_USER
            .open(format!(r"{key}\shell\open\command"))
            .and_then(|k| k.get_string(""))
            .is_ok_and(|command| is_ours(&command));
        if ours {
            CURRENT_USER
                .remove_tree(&key)
                .map_err(|e| format!("{}: {e}", hkcu(&key)))?;
            notes.push(format!("removed {}", hkcu(&key)));
        } else {
            notes.push(format!("{s}: links are not ctibridge's: left as they are"));
        }
    }
    for key in [
        format!(r"{classes}\{REG_PROGID}"),
        format!(r"{root}\ctibridge"),
    ] {
        if CURRENT_USER.open(&key).is_ok() {
            CURRENT_USER
                .remove_tree(&key)
                .map_err(|e| format!("{}: {e}", hkcu(&key)))?;
            notes.push(format!("removed {}", hkcu(&key)));
        }
    }
    let apps = format!(r"{root}\RegisteredApplications");
    if let Ok(k) = CURRENT_USER.options().read().write().open(&apps) {
        if k.get_string("ctibridge").is_ok() {
            k.remove_value("ctibridge")
                .map_err(|e| format!("{}: {e}", hkcu(&apps)))?;
            notes.push(format!(r"removed {}\ctibridge", hkcu(&apps)));
        }
    }
    Ok(notes)
}

#[cfg(not(windows))]
fn remove_registry(_root: &str) -> Result<Vec<String>, String> {
    Err("the Windows registry exists on Windows only".to_owned())
}

/// Whether a scheme's open command is ctibridge's: its program is a
/// `ctibridge` executable.
#[cfg(any(windows, test))]
pub(crate) fn is_ours(command: &str) -> bool {
    crate::launch::split_windows(command)
        .ok()
        .and_then(|w| w.into_iter().next())
        .and_then(|program| {
            Path::new(&program.replace('\\', "/"))
                .file_stem()
                .map(|s| s.to_string_lossy().eq_ignore_ascii_case("ctibridge"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_desktop_entry() {
        let env = |k: &str| match k {
            "XDG_DATA_HOME" => Some(OsString::from("/home/u/.data")),
            _ => None,
        };
        let plan = xdg_plan(Path::new("/opt/cti bridge/ctibridge"), &[], env).unwrap();
        let (path, text) = &plan.files[0];
        assert_eq!(
            path,
            Path::new("/home/u/.data/applications/ctibridge.desktop")
        );
        assert!(
            text.contains("Exec=\"/opt/cti bridge/ctibridge\" %u\n"),
            "{text}"
        );
        assert!(
            text.contains("MimeType=x-scheme-handler/tel;x-scheme-handler/callto;\n"),
            "{text}"
        );
        assert_eq!(
            plan.commands[1],
            [
                "xdg-mime",
                "default",
                "ctibridge.desktop",
                "x-scheme-handler/callto"
            ]
        );
        let home = |k: &str| (k == "HOME").then(|| OsString::from("/home/u"));
        assert_eq!(
            xdg_plan(Path::new("/b"), &[], home).unwrap().files[0].0,
            Path::new("/home/u/.local/share/applications/ctibridge.desktop")
        );
        assert!(xdg_plan(Path::new("/b"), &[], |_| None).is_err());
        // The files a dial reads go before the link, each quoted.
        let args = ["--sys-dir".to_owned(), "/srv/divalto sys".to_owned()];
        let plan = xdg_plan(Path::new("/usr/bin/ctibridge"), &args, env).unwrap();
        assert!(
            plan.files[0]
                .1
                .contains("Exec=/usr/bin/ctibridge --sys-dir \"/srv/divalto sys\" %u\n"),
            "{}",
            plan.files[0].1
        );
    }

    #[test]
    fn watch_starts_at_logon_from_an_autostart_entry_or_the_run_key() {
        let env = |k: &str| (k == "HOME").then(|| OsString::from("/home/u"));
        let args = ["--sys-dir".to_owned(), "/srv/divalto sys".to_owned()];
        let plan = startup_plan(Path::new("/usr/bin/ctibridge"), &args, env).expect("plan");
        if cfg!(windows) {
            assert_eq!(plan.registry[0].name.as_deref(), Some(RUN_VALUE));
        } else {
            let (path, text) = &plan.files[0];
            assert_eq!(
                path,
                Path::new("/home/u/.config/autostart/ctibridge-watch.desktop")
            );
            assert!(
                text.contains(
                    "Exec=/usr/bin/ctibridge --sys-dir \"/srv/divalto sys\" watch --background\n"
                ),
                "{text}"
            );
        }
    }

    #[test]
    fn a_build_folder_is_recognised() {
        assert!(in_build_folder(Path::new(
            "/home/u/ctibridge/target/debug/ctibridge"
        )));
        assert!(in_build_folder(Path::new("/w/target/release/ctibridge")));
        assert!(in_build_folder(Path::new(
            "/w/target/x86_64-pc-windows-gnu/debug/ctibridge.exe"
        )));
        assert!(in_build_folder(Path::new(
            r"C:\w\target\release\ctibridge.exe"
                .replace('\\', "/")
                .as_str()
        )));
        assert!(!in_build_folder(Path::new("/usr/bin/ctibridge")));
        assert!(!in_build_folder(Path::new("/home/u/.cargo/bin/ctibridge")));
    }

    #[test]
    fn a_schemes_command_is_ours_when_its_program_is_ctibridge() {
        assert!(is_ours(
            r#""C:\Program Files\ctibridge\ctibridge.exe" "%1""#
        ));
        assert!(is_ours(
            r#""C:\tools\CTIBRIDGE.EXE" "--sys-dir" "C:\Divalto\Sys" "%1""#
        ));
        assert!(!is_ours(r#""C:\Program Files\Teams\teams.exe" "%1""#));
        assert!(!is_ours(r#""C:\ctibridge\other.exe" "%1""#));
        assert!(!is_ours(""));
    }

    #[test]
    fn windows_registry_values_and_their_reg_text() {
        let plan = windows_plan("Software", r"C:\Program Files\ctibridge\ctibridge.exe", &[]);
        let reg = plan.describe();
        assert!(
            reg.contains("Windows Registry Editor Version 5.00\n"),
            "{reg}"
        );
        for s in ["tel", "callto", "sip"] {
            assert!(
                reg.contains(&format!(
                    "[HKEY_CURRENT_USER\\Software\\Classes\\{s}]\n@=\"URL:{s}\"\n\"URL Protocol\"=\"\"\n"
                )),
                "{reg}"
            );
        }
        assert!(
            reg.contains(r#"@="\"C:\\Program Files\\ctibridge\\ctibridge.exe\" \"%1\"""#),
            "{reg}"
        );
        assert!(
            reg.contains("[HKEY_CURRENT_USER\\Software\\RegisteredApplications]\n\"ctibridge\"=\"Software\\\\ctibridge\\\\Capabilities\"\n"),
            "{reg}"
        );
        assert!(reg.contains("\"sip\"=\"ctibridge.url\""), "{reg}");
        // The files a click reads go before the link, quoted as Windows
        // programs read their command line.
        let args = ["--sys-dir".to_owned(), r"C:\Divalto\Sys\".to_owned()];
        let plan = windows_plan(r"Software\scratch", r"C:\ctibridge.exe", &args);
        let command = plan
            .registry
            .iter()
            .find(|v| v.key == r"Software\scratch\Classes\tel\shell\open\command")
            .expect("tel's command");
        assert_eq!(
            command.value,
            r#""C:\ctibridge.exe" "--sys-dir" "C:\Divalto\Sys\\" "%1""#
        );
        assert!(plan
            .registry
            .iter()
            .all(|v| v.key.starts_with(r"Software\scratch\")));
    }
}
