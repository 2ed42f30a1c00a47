//! The command line: arguments and subcommands (clap), and the implicit
//! `dial` of `ctibridge NUMBER`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory as _, Parser, Subcommand};

use ctibridge::exit::{Exit, EXIT_CODES_HELP};
use ctibridge::number;

/// Click-to-call bridge for ERPs that drive telephony through
/// clicktocall_param.txt (Divalto and others).
#[derive(Parser)]
#[command(name = "ctibridge", version, after_help = EXIT_CODES_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) files: FileArgs,

    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args)]
pub(crate) struct FileArgs {
    /// The sys folder holding clicktocall_param.txt, tapi_param.txt and server_param.txt
    /// [default: $CTIBRIDGE_SYS_DIR, else /divalto/sys; C:\Divalto\Sys on Windows]
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) sys_dir: Option<PathBuf>,

    /// The param file, instead of SYS_DIR/clicktocall_param.txt.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) param: Option<PathBuf>,

    /// The station settings, instead of station.txt in the user's config
    /// folder ($CTIBRIDGE_CONFIG_DIR, else the platform's).
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) station: Option<PathBuf>,

    /// A built-in provider profile read before the param file, whatever its
    /// <provider> says (`ctibridge profiles` lists them).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) provider: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum ProfilesAction {
    /// Print a profile: a param file, with its comments.
    Show {
        /// The profile's name.
        name: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum SimAction {
    /// An incoming call from FROM to the line TO, as the provider would
    /// notify it: the desks of TO see it ring.
    Call {
        /// The caller: any number form (03 88 20 20 20, +33 3 88…), as the
        /// desks will see it.
        from: String,
        /// The line called: a line of a desk (its <telorg>, e.g. 1003).
        to: String,
        /// The bridge server.
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8082")]
        url: String,
        /// Let it ring out unanswered (a missed call).
        #[arg(long, conflicts_with = "wait")]
        no_answer: bool,
        /// Let it ring until a desk answers, rejects or hangs up (`ctibridge
        /// call`), then talk until one hangs up — two minutes at most each.
        #[arg(long)]
        wait: bool,
        /// Certificate authorities (PEM) to trust for an https URL, besides
        /// the built-in ones.
        #[arg(long, value_name = "FILE")]
        cafile: Option<PathBuf>,
    },
}

/// `ctibridge call …`: the desk's calls under way, and what to do to them.
#[derive(Subcommand)]
pub(crate) enum CallAction {
    /// The calls under way on the line: ringing or answered, with how long
    /// they rang and talked so far.
    List {
        #[command(flatten)]
        on: CallOn,
    },
    /// Pick up a ringing call.
    Answer {
        /// The call (its reference, as `call list` and `watch --json` show).
        callref: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// End a call.
    Hangup {
        callref: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// Send a ringing call to voicemail (missed for the line).
    Reject {
        callref: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// Transfer a side of an answered call to NUMBER (blind).
    Transfer {
        callref: String,
        /// The number to transfer to, in any form.
        to: String,
        /// The side that goes to NUMBER: the other party (caller of an
        /// incoming call), or this line's own side.
        #[arg(long, value_parser = ["caller", "callee"], default_value = "caller")]
        side: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// Call NUMBER first; the side is transferred to it only if it answers
    /// (within --timer seconds); else the call goes on as it was.
    SupervisedTransfer {
        callref: String,
        to: String,
        #[arg(long, value_parser = ["caller", "callee"], default_value = "caller")]
        side: String,
        /// Seconds NUMBER may ring before the transfer is called off (0: no
        /// limit).
        #[arg(long, value_name = "SECONDS", default_value_t = 30)]
        timer: u32,
        #[command(flatten)]
        on: CallOn,
    },
    /// Join two answered calls of the line: a side of each talk together,
    /// and the line leaves both.
    Merge {
        callref: String,
        /// The other call.
        callref2: String,
        #[arg(long, value_parser = ["caller", "callee"], default_value = "caller")]
        side: String,
        /// The side of the other call.
        #[arg(long, value_parser = ["caller", "callee"], default_value = "caller")]
        side2: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// Put a side of an answered call in the call park; another desk (or
    /// this one) takes it back with `unpark`.
    Park {
        callref: String,
        /// The side that waits in the park.
        #[arg(long, value_parser = ["caller", "callee"], default_value = "caller")]
        side: String,
        /// The slot (letters and digits) [default: the first free one].
        #[arg(long, value_name = "SLOT")]
        slot: Option<String>,
        #[command(flatten)]
        on: CallOn,
    },
    /// Take a parked (or paused) call back.
    Unpark {
        callref: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// Hold an answered call: the other party waits in the park, on this
    /// line's own slot (its number), until `unpark`.
    Pause {
        callref: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// Whether the callee of a call this line makes or transfers answers
    /// by itself; with on or off, set it.
    AutoAnswer {
        #[arg(value_parser = ["on", "off"])]
        value: Option<String>,
        #[command(flatten)]
        on: CallOn,
    },
    /// Send a SIP message (a text) to NUMBER from the line.
    Message {
        to: String,
        text: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// Follow another line of the account (its number), or the call park
    /// (callpark).
    Subscribe {
        number: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// Stop following a line, or the call park.
    Unsubscribe {
        number: String,
        #[command(flatten)]
        on: CallOn,
    },
    /// What the line follows.
    Subscriptions {
        #[command(flatten)]
        on: CallOn,
    },
}

/// Which line, and how to print.
#[derive(Args, Clone, Debug)]
pub(crate) struct CallOn {
    /// The line [default: the station's <telorg>].
    #[arg(long, value_name = "NUMBER")]
    pub line: Option<String>,
    /// One JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Start here: ctibridge at work — a call dialled, incoming calls
    /// popped, the desk and the journal — through the built-in simulator,
    /// with no account and no file to write (about 12 s).
    Demo,
    /// Read, validate and explain the param files: every problem with its
    /// line, then what the configuration means.
    Check {
        /// The file to check: a param file (as --param), or a bridge server's
        /// file (as --server) when it has a <server> section.
        #[arg(value_name = "FILE", conflicts_with_all = ["server", "param"])]
        file: Option<PathBuf>,
        /// Print the diagnostics and the explanation as JSON.
        #[arg(long)]
        json: bool,
        /// Check the bridge server's file (server_param.txt) instead.
        #[arg(long, value_name = "FILE")]
        server: Option<PathBuf>,
        /// With --server: print the Keyyo notification URL with its real
        /// secret (masked everywhere else), to paste in the Keyyo manager.
        #[arg(long)]
        show_secret: bool,
    },
    /// Check, without placing a call, that everything a dial and a screen
    /// pop need is in place: the files, the servers' certificates, the
    /// token, the event source, the provider's credentials (OVH keys and
    /// clock, a Digest challenge). One line per check; exit 0 only when
    /// all are in place.
    Doctor {
        /// Check the bridge server's file (server_param.txt) and what it
        /// needs instead: its certificate, address, journal and provider.
        #[arg(long, value_name = "FILE")]
        server: Option<PathBuf>,
    },
    /// The calls of a line, newest first: from the bridge server with this
    /// desk's credentials, or straight from a call journal (--journal).
    History {
        /// The line [default: the station's <telorg>; with --journal, every
        /// line].
        #[arg(long, value_name = "NUMBER")]
        line: Option<String>,
        /// Only these calls.
        #[arg(long, value_name = "KIND", value_parser = ["made", "received", "missed"])]
        kind: Option<String>,
        /// Only calls set up since then: a date (2026-12-01), a date and
        /// time (2026-12-01T08:30), `today`, `yesterday`, or a span back
        /// from now (90m, 8h, 7d).
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// At most this many calls.
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: usize,
        /// Read this call journal (the server's SQLite file) instead of
        /// asking the bridge server.
        #[arg(long, value_name = "FILE")]
        journal: Option<PathBuf>,
        /// One JSON object per call.
        #[arg(long)]
        json: bool,
    },
    /// The `<report>` of the param files (or of the server file) for a
    /// sample call: a missed call from Marie Dupont (+33 3 88 20 20 20) a
    /// minute ago. Sent to the ERP, or only shown with --dry-run.
    Report {
        /// Print the request, secrets masked, and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// The `<report>` of this bridge server file (server_param.txt)
        /// rather than of the desk's param files.
        #[arg(long, value_name = "FILE")]
        server: Option<PathBuf>,
        /// The line of the sample call (default: the station's <telorg>,
        /// else 0972101010).
        #[arg(long, value_name = "NUMBER")]
        line: Option<String>,
    },
    /// Who NUMBER belongs to, as the `<lookup>` of the param files finds
    /// it (a directory file or the ERP's web request), or as a directory
    /// file given here finds it; with the time it took.
    Lookup {
        /// The number, in any form (0388202020, +33 3 88 20 20 20, 33388202020).
        number: String,
        /// Look in this directory instead of the `<lookup>` of the files: a
        /// vCard file (.vcf), or a CSV file with a header row naming the
        /// columns (name/nom, company/société, record/fiche, and
        /// phone/téléphone/mobile…).
        #[arg(long, value_name = "FILE")]
        directory: Option<PathBuf>,
        /// With --directory: numbers without a country code are of this
        /// country.
        #[arg(long, value_name = "CC", default_value = "FR")]
        country: String,
        /// Print the request the lookup would send, secrets masked, and
        /// send nothing.
        #[arg(long)]
        dry_run: bool,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Place a call to NUMBER: a number, or a tel:, callto: or sip: URI.
    /// `ctibridge NUMBER` and `ctibridge tel:…` do the same.
    Dial {
        /// The number or URI, e.g. 0388202020, "tel:+33-3-88-20-20-20",
        /// callto://0388202020.
        number: String,
        /// Print the exact requests (or command) that would be sent, secrets
        /// masked, and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// The name of the person called, for providers that show it ($name$).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Ring this number first and connect it to NUMBER once answered
        /// (Keyyo's "mise en relation", $from$).
        #[arg(long, value_name = "NUMBER")]
        from: Option<String>,
        /// Ask the provider to record the call ($record$ = 1).
        #[arg(long)]
        record: bool,
    },
    /// Send a text message (the `<sms>` request; Keyyo: at most 64 characters).
    Sms {
        /// The number to send it to.
        number: String,
        /// The text.
        message: String,
        /// Print the exact request, secrets masked, and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Choose the line's call-forwarding profile (the `<forward>` request,
    /// Keyyo `setprofil.html`).
    ForwardProfile {
        /// The profile's name as the provider knows it.
        name: String,
        /// Print the exact request, secrets masked, and send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the built-in provider profiles, or print one.
    Profiles {
        #[command(subcommand)]
        action: Option<ProfilesAction>,
    },
    /// Follow call events (`<cliktocallevent>`), print one line per call
    /// event and run the screen pop of `<popup>`. Runs until stopped.
    Watch {
        /// Stop after the first call event.
        #[arg(long)]
        once: bool,
        /// Stop after SECONDS.
        #[arg(long = "for", value_name = "SECONDS", value_parser = parse_seconds_arg)]
        duration: Option<std::time::Duration>,
        /// One JSON object per line (the default when stdout is not a terminal).
        #[arg(long)]
        json: bool,
        /// Start `watch` at this user's logon, with the files named on this
        /// command line: the user's Run key on Windows, an autostart entry
        /// (~/.config/autostart) on an XDG desktop. Then exits.
        #[arg(long, conflicts_with_all = ["uninstall_startup", "once", "duration"])]
        install_startup: bool,
        /// Undo --install-startup, then exit.
        #[arg(long, conflicts_with_all = ["once", "duration"])]
        uninstall_startup: bool,
        /// With --install-startup: show what would be written, change nothing.
        #[arg(long, requires = "install_startup")]
        print: bool,
        /// With --install-startup: even from a build folder (target/debug,
        /// target/release), which a rebuild or a clean replaces.
        #[arg(long, requires = "install_startup")]
        force: bool,
        /// Run without a window: on Windows the console window a logon
        /// start opens is hidden (not a terminal the user started it from);
        /// elsewhere nothing changes. What it logs goes to the log file
        /// with <debug>1.
        #[arg(long)]
        background: bool,
    },
    /// Run the bridge server: the CTI web service of Divalto's sample file
    /// (gettoken, setevent, getevent) on 127.0.0.1:8082.
    Serve(ServeArgs),
    /// The desk's calls under way, through the bridge server: list them and
    /// act on them (answer, hang up, reject, transfer, park, merge…), and
    /// the line's own settings (auto-answer, subscriptions, messages).
    Call {
        #[command(subcommand)]
        action: CallAction,
    },
    /// Drive the bridge server's simulator.
    Sim {
        #[command(subcommand)]
        action: SimAction,
    },
    /// Make ctibridge the desktop's handler for tel: and callto: links
    /// (an XDG .desktop file and xdg-mime; on Windows tel:, callto: and
    /// sip: in the current user's registry, no administrator needed).
    InstallHandler {
        /// Show what would be written and run (on Windows, as a .reg
        /// file), change nothing.
        #[arg(long)]
        print: bool,
        /// Print nothing but errors (the MSI's first run for each user).
        #[arg(long)]
        quiet: bool,
        /// Point the links at this binary even inside a build folder
        /// (target/debug, target/release), which a rebuild or a clean
        /// replaces.
        #[arg(long)]
        force: bool,
    },
    /// Undo install-handler: remove the desktop file (XDG), or on Windows
    /// ctibridge's keys and the schemes still pointing at ctibridge.
    UninstallHandler,
    /// Print the param format reference (docs/param-format.md).
    Reference,
    /// Print the words given, one space apart: the demo's screen pop runs
    /// it (a program there on every platform; `echo` is not one on Windows).
    #[command(hide = true)]
    Echo { words: Vec<String> },
    /// Print the completion script of a shell (bash, zsh, fish, elvish,
    /// powershell): `ctibridge completions bash > /etc/bash_completion.d/ctibridge`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write the man pages (ctibridge.1, and one per subcommand) into DIR.
    Man {
        /// The folder to write them into (made if missing).
        dir: PathBuf,
    },
}

/// `ctibridge serve`'s options.
#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// The server file [default: server_param.txt in the sys folder].
    #[arg(long, value_name = "FILE")]
    pub(crate) server: Option<PathBuf>,
    /// The address to listen on [default: the server file's <listen>,
    /// else 127.0.0.1:8082].
    #[arg(long, value_name = "ADDR", value_parser = parse_listen_arg)]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// Use the simulator as the provider. Without a server file, any
    /// desk of this machine is accepted (no file needed).
    #[arg(long)]
    pub(crate) sim: bool,
    /// How long getevent holds a poll with nothing to say [default:
    /// <hold>, else 25].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds_arg)]
    pub(crate) hold: Option<std::time::Duration>,
    /// The call journal (SQLite) [default: <journal>, else in memory].
    #[arg(long, value_name = "FILE")]
    pub(crate) journal: Option<PathBuf>,
    /// The addresses Keyyo notifies from, as the Keyyo manager writes
    /// them: a regular expression such as 62\.39\.136\.157|83\.136\.160\.79
    /// [default: <keyyo_notify><sources>, else this machine only]
    #[arg(long, value_name = "REGEX")]
    pub(crate) keyyo_sources: Option<String>,
}

/// The command line `args`, with the implicit `dial` of
/// [`with_implicit_dial`]; clap's command is built once for both (every
/// click starts a process). Help, version and usage errors exit as
/// `Cli::parse_from` does.
pub(crate) fn parse(args: Vec<OsString>) -> Cli {
    use clap::FromArgMatches as _;
    // No longer an option (so no completion offers it), but still told
    // apart from a typo: where the secret goes instead. The value is not
    // echoed.
    if args
        .iter()
        .any(|a| a == "--keyyo-secret" || a.to_string_lossy().starts_with("--keyyo-secret="))
    {
        eprintln!("error: --keyyo-secret is no longer taken: a secret on the command line can be read by anyone on this machine (process list, shell history)\n  = help: set <keyyo_notify><secret> in the server file, or the environment variable CTIBRIDGE_KEYYO_SECRET");
        std::process::exit(Exit::Config as i32);
    }
    let command = Cli::command();
    let args = with_implicit_dial(&command, args);
    let parsed = command
        .try_get_matches_from(args)
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m));
    parsed.unwrap_or_else(|e| usage_error(e.format(&mut Cli::command())))
}

/// Help and version as clap prints them (exit 0); a wrong command line
/// exits [`Exit::Usage`], not the configuration error's 2.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit()
    }
    let _ = e.print();
    std::process::exit(Exit::Usage as i32)
}

/// `ctibridge 0388202020` and `ctibridge tel:…` (how a desktop URL handler
/// or an ERP launches us) mean `ctibridge dial …`.
fn with_implicit_dial(command: &clap::Command, mut args: Vec<OsString>) -> Vec<OsString> {
    // The subcommands and the options that take a value, as clap knows
    // them (`help` is clap's own).
    let is_subcommand = |a: &str| a == "help" || command.find_subcommand(a).is_some();
    let takes_value = |a: &str| {
        command.get_arguments().any(|arg| {
            arg.get_action().takes_values()
                && arg
                    .get_long()
                    .is_some_and(|l| a.strip_prefix("--") == Some(l))
        })
    };
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy().into_owned();
        if is_subcommand(&a) || a == "--" {
            return args;
        }
        if takes_value(&a) {
            i += 2;
            continue;
        }
        let looks_like_number = a.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '(');
        if number::is_dial_uri(&a) || looks_like_number {
            args.insert(i, OsString::from("dial"));
            return args;
        }
        i += 1;
    }
    args
}

/// `--listen`, read as `<listen>` is (the same messages).
fn parse_listen_arg(s: &str) -> Result<std::net::SocketAddr, String> {
    ctibridge::config::value::parse_listen(s).map_err(|e| match e.help {
        Some(help) => format!("{}; {help}", e.message),
        None => e.message,
    })
}

pub(crate) fn parse_seconds_arg(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
        return Err(format!("`{s}` is not a positive number of seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}
