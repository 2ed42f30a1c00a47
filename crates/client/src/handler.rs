//! `ctibridge install-handler`: makes ctibridge the desktop's handler for
//! `tel:` and `callto:` links, so a click in any application dials.

pub use crate::events::popup::notify_now;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The URI schemes ctibridge handles.
pub(crate) const SCHEMES: &[&str] = &["tel", "callto"];

/// What installing does: files to write and commands to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub files: Vec<(PathBuf, String)>,
    pub commands: Vec<Vec<String>>,
    /// Text for the user to apply by hand (Windows `.reg`).
    pub manual: Option<String>,
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
    let data_home = match env("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(
            env("HOME")
                .filter(|v| !v.is_empty())
                .ok_or("neither XDG_DATA_HOME nor HOME is set")?,
        )
        .join(".local/share"),
    };
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
        manual: None,
    })
}

/// The `.reg` text that registers the schemes for the current Windows user.
pub(crate) fn windows_reg(exe: &str, args: &[String]) -> String {
    // The command line, each word quoted, then escaped for the .reg text.
    let command = std::iter::once(exe.to_owned())
        .chain(args.iter().cloned())
        .chain(std::iter::once("%1".to_owned()))
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    let mut out = String::from("Windows Registry Editor Version 5.00\n");
    for s in SCHEMES {
        let _ = write!(
            out,
            "\n[HKEY_CURRENT_USER\\Software\\Classes\\{s}]\n@=\"URL:{s}\"\n\"URL Protocol\"=\"\"\n\n[HKEY_CURRENT_USER\\Software\\Classes\\{s}\\shell\\open\\command]\n@=\"{command}\"\n"
        );
    }
    out
}

/// Whether `exe` lies in a Cargo build folder (`target/debug`,
/// `target/release`): a link handler pointing there stops working when the
/// folder is cleaned or rebuilt.
pub fn in_build_folder(exe: &Path) -> bool {
    let parts: Vec<_> = exe.components().map(|c| c.as_os_str().to_owned()).collect();
    parts
        .windows(2)
        .any(|w| w[0] == "target" && (w[1] == "debug" || w[1] == "release"))
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
        Ok(Plan {
            files: Vec::new(),
            commands: Vec::new(),
            manual: Some(format!(
                "; save as ctibridge.reg and open it\n{}",
                windows_reg(&exe.to_string_lossy(), args)
            )),
        })
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
    if let Some(m) = &plan.manual {
        notes.push(m.clone());
    }
    Ok(notes)
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
    fn a_build_folder_is_recognised() {
        assert!(in_build_folder(Path::new(
            "/home/u/ctibridge/target/debug/ctibridge"
        )));
        assert!(in_build_folder(Path::new("/w/target/release/ctibridge")));
        assert!(!in_build_folder(Path::new("/usr/bin/ctibridge")));
        assert!(!in_build_folder(Path::new("/home/u/.cargo/bin/ctibridge")));
    }

    #[test]
    fn windows_registry_text() {
        let reg = windows_reg(r"C:\Program Files\ctibridge\ctibridge.exe", &[]);
        assert!(reg.starts_with("Windows Registry Editor Version 5.00\n"));
        assert!(reg.contains("[HKEY_CURRENT_USER\\Software\\Classes\\tel]\n@=\"URL:tel\"\n\"URL Protocol\"=\"\"\n"), "{reg}");
        assert!(
            reg.contains(r#"@="\"C:\\Program Files\\ctibridge\\ctibridge.exe\" \"%1\"""#),
            "{reg}"
        );
        let args = ["--sys-dir".to_owned(), r"C:\Divalto\Sys".to_owned()];
        let reg = windows_reg(r"C:\ctibridge.exe", &args);
        assert!(
            reg.contains(r#"@="\"C:\\ctibridge.exe\" \"--sys-dir\" \"C:\\Divalto\\Sys\" \"%1\"""#),
            "{reg}"
        );
    }
}
