//! Starting programs for the user: the `<callto>` command, the screen pop,
//! the desktop's opener. Never through a shell.

use std::process::{Command, Stdio};

/// Starts `program` with `args` and returns at once. A small thread reaps
/// it and logs a failure (`what` says which program it was). Its output goes
/// to our stderr: stdout belongs to `watch`'s event lines.
pub fn spawn_detached(program: &str, args: &[String], what: &'static str) -> std::io::Result<()> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .spawn()?;
    let program = program.to_owned();
    let reaper = std::thread::Builder::new()
        .name("reaper".to_owned())
        .stack_size(64 * 1024)
        .spawn(move || match child.wait() {
            Ok(status) if status.success() => tracing::debug!(program, "{what} done"),
            Ok(status) => tracing::warn!("{what} `{program}` failed: {status}"),
            Err(e) => tracing::warn!("{what} `{program}`: {e}"),
        });
    if let Err(e) = reaper {
        // The child runs anyway; it is only not reaped until we exit.
        tracing::debug!("cannot start a thread to wait for `{what}`: {e}");
    }
    Ok(())
}

/// `text` split into words by this platform's rules: as a POSIX shell
/// would (quotes, backslash escapes), or on Windows as Windows programs read
/// their command line (`C:\Program Files\ERP\erp.exe` keeps its
/// backslashes). No variable, glob or operator: there is no shell.
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    if cfg!(windows) {
        split_windows(text)
    } else {
        shell_words::split(text).map_err(|e| e.to_string())
    }
}

/// `word` quoted, when it needs it, by [`split_words`]'s rules: what a
/// dry run shows.
pub fn quote_word(word: &str) -> String {
    if cfg!(windows) {
        if !word.is_empty() && !word.contains([' ', '\t', '"']) {
            word.to_owned()
        } else {
            windows_quote(word)
        }
    } else {
        shell_words::quote(word).into_owned()
    }
}

/// A Windows command line split as `CommandLineToArgvW` and the C runtime
/// do: spaces and tabs part words outside double quotes; `2n` backslashes
/// before a quote are `n` backslashes and the quote opens or closes, `2n+1`
/// are `n` and a literal quote; `""` inside quotes is a quote; any other
/// backslash is itself. A quote left open is an error (rather than the
/// runtime's silent end of the word).
pub fn split_windows(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut backslashes = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                backslashes += 1;
                in_word = true;
            }
            '"' => {
                word.extend(std::iter::repeat_n('\\', backslashes / 2));
                if backslashes % 2 == 1 {
                    word.push('"');
                } else if quoted && chars.peek() == Some(&'"') {
                    chars.next();
                    word.push('"');
                } else {
                    quoted = !quoted;
                }
                backslashes = 0;
                in_word = true;
            }
            ' ' | '\t' if !quoted => {
                word.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.extend(std::iter::repeat_n('\\', backslashes));
                backslashes = 0;
                word.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err("missing closing quote".to_owned());
    }
    word.extend(std::iter::repeat_n('\\', backslashes));
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// `arg` quoted for a Windows command line as programs read it
/// ([`split_windows`]): in double quotes, a quote inside escaped, and the
/// backslashes before a quote (or the closing one) doubled.
pub fn windows_quote(arg: &str) -> String {
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.extend(std::iter::repeat_n('\\', 2 * backslashes + 1));
                out.push('"');
                backslashes = 0;
            }
            _ => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.extend(std::iter::repeat_n('\\', 2 * backslashes));
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_command_lines_split_as_windows_programs_read_them() {
        let split = |t: &str| split_windows(t).expect("split");
        assert_eq!(
            split(r#""C:\Program Files\ERP\erp.exe" /fiche $tel$"#),
            [r"C:\Program Files\ERP\erp.exe", "/fiche", "$tel$"]
        );
        assert_eq!(
            split(r"C:\Divalto\erp.exe  a\tb"),
            [r"C:\Divalto\erp.exe", r"a\tb"]
        );
        assert_eq!(split(r#"a\"b "c\\" d"#), [r#"a"b"#, r"c\", "d"]);
        assert_eq!(split(r#""say ""hi""" x"#), [r#"say "hi""#, "x"]);
        assert_eq!(split(r#""" x"#), ["", "x"]);
        assert_eq!(split("  "), Vec::<String>::new());
        assert!(split_windows(r#""open"#).is_err());
        // Quoting, then splitting, gives the words back.
        for w in [
            r"C:\a b\",
            r#"q"uote"#,
            r"\\server\share",
            "",
            "plain",
            "é → ü",
        ] {
            assert_eq!(split(&windows_quote(w)), [w], "{w:?}");
        }
    }

    #[test]
    fn windows_command_line_quoting() {
        assert_eq!(windows_quote("plain"), r#""plain""#);
        assert_eq!(windows_quote(r"C:\a b\c"), r#""C:\a b\c""#);
        assert_eq!(windows_quote(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(windows_quote(r#"a\"b"#), r#""a\\\"b""#);
        assert_eq!(windows_quote(r"ends\"), r#""ends\\""#);
        assert_eq!(windows_quote(""), r#""""#);
    }
}
