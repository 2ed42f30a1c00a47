use std::ffi::OsString;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

use ctibridge::dial::{self, DialRequest, Outcome};
use ctibridge::events::watch::{self, WatchOptions};
use ctibridge::exit::{Exit, EXIT_CODES_HELP};
use ctibridge::explain::{self, Report};
use ctibridge::failure::Failure;
use ctibridge::load::{self, LocateOptions, Locations};
use ctibridge::logfile::LogFile;
use ctibridge::number;
use ctibridge::source::Span;

/// Click-to-call bridge for ERPs that drive telephony through
/// clicktocall_param.txt (Divalto and others).
#[derive(Parser)]
#[command(name = "ctibridge", version, after_help = EXIT_CODES_HELP)]
struct Cli {
    #[command(flatten)]
    files: FileArgs,

    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct FileArgs {
    /// The sys folder holding clicktocall_param.txt, tapi_param.txt and server_param.txt
    /// [default: $CTIBRIDGE_SYS_DIR, else /divalto/sys]
    #[arg(long, global = true, value_name = "DIR")]
    sys_dir: Option<PathBuf>,

    /// The param file, instead of SYS_DIR/clicktocall_param.txt.
    #[arg(long, global = true, value_name = "FILE")]
    param: Option<PathBuf>,

    /// The station settings, instead of station.txt in the user's config
    /// folder ($CTIBRIDGE_CONFIG_DIR, else the platform's).
    #[arg(long, global = true, value_name = "FILE")]
    station: Option<PathBuf>,

    /// A built-in provider profile read before the param file, whatever its
    /// <provider> says (`ctibridge profiles` lists them).
    #[arg(long, global = true, value_name = "NAME")]
    provider: Option<String>,
}

#[derive(Subcommand)]
enum ProfilesAction {
    /// Print a profile: a param file, with its comments.
    Show {
        /// The profile's name.
        name: String,
    },
}

#[derive(Subcommand)]
enum SimAction {
    /// An incoming call from FROM to the line TO.
    Call {
        from: String,
        to: String,
        /// The bridge server.
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8082")]
        url: String,
        /// Let it ring out unanswered (a missed call).
        #[arg(long)]
        no_answer: bool,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Read, validate and explain the param files: every problem with its
    /// line, then what the configuration means.
    Check {
        /// Print the diagnostics and the explanation as JSON.
        #[arg(long)]
        json: bool,
        /// Check the bridge server's file (server_param.txt) instead.
        #[arg(long, value_name = "FILE")]
        server: Option<PathBuf>,
        /// With --server: print the Keyyo notification URL with its real
        /// secret (masked everywhere else), to paste in the Keyyo manager.
        #[arg(long, requires = "server")]
        show_secret: bool,
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
    },
    /// Choose the line's call-forwarding profile (the `<forward>` request,
    /// Keyyo `setprofil.html`).
    ForwardProfile {
        /// The profile's name as the provider knows it.
        name: String,
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
    },
    /// Run the bridge server: the CTI web service of Divalto's sample file
    /// (gettoken, setevent, getevent) on 127.0.0.1:8082.
    Serve(ServeArgs),
    /// Drive the bridge server's simulator.
    Sim {
        #[command(subcommand)]
        action: SimAction,
    },
    /// Show ctibridge at work with no account and no file to write.
    Demo,
    /// Make ctibridge the desktop's handler for tel: and callto: links
    /// (an XDG .desktop file and xdg-mime; on Windows, prints the .reg text).
    InstallHandler {
        /// Show what would be written and run, change nothing.
        #[arg(long)]
        print: bool,
    },
    /// Print the param format reference (docs/param-format.md).
    Reference,
}

// Everything printed goes through the secret mask ([`ctibridge::redact`]).
macro_rules! out {
    ($($t:tt)*) => { ctibridge::redact::print(&format!($($t)*)) };
}
macro_rules! outln {
    () => { ctibridge::redact::print("\n") };
    ($($t:tt)*) => { ctibridge::redact::print(&format!("{}\n", format_args!($($t)*))) };
}
macro_rules! err {
    ($($t:tt)*) => { ctibridge::redact::eprint(&format!($($t)*)) };
}
macro_rules! errln {
    () => { ctibridge::redact::eprint("\n") };
    ($($t:tt)*) => { ctibridge::redact::eprint(&format!("{}\n", format_args!($($t)*))) };
}

fn main() -> ExitCode {
    if std::env::args_os().len() <= 1 {
        let _ = Cli::command().print_help();
        return ExitCode::SUCCESS;
    }
    let cli = Cli::parse_from(with_implicit_dial(std::env::args_os().collect()));
    // `watch` runs all day: say when it starts and when the source comes back.
    let quiet = if matches!(cli.command, Command::Watch { .. }) {
        "warn,ctibridge::events=info"
    } else {
        "warn"
    };
    let log_file = init_logging(cli.verbose, quiet);
    let opts = LocateOptions {
        sys_dir: cli.files.sys_dir,
        param: cli.files.param,
        station: cli.files.station,
        provider: cli.files.provider,
    };
    match cli.command {
        Command::Check {
            json,
            server: Some(file),
            show_secret,
        } => check_server(&file, json, show_secret).into(),
        Command::Check {
            json, server: None, ..
        } => check(&opts, json).into(),
        Command::Dial {
            number,
            dry_run,
            name,
            from,
            record,
        } => dial(
            &opts,
            DialRequest {
                target: number,
                dry_run,
                name,
                from,
                record,
            },
            &log_file,
        )
        .into(),
        Command::Sms { number, message } => sms(&opts, &log_file, number, message).into(),
        Command::ForwardProfile { name } => forward_profile(&opts, &log_file, name).into(),
        Command::Profiles { action } => profiles(action).into(),
        Command::Watch {
            once,
            duration,
            json,
        } => watch(
            &opts,
            WatchOptions {
                once,
                duration,
                json: json || !std::io::stdout().is_terminal(),
            },
            &log_file,
        )
        .into(),
        Command::Serve(args) => serve(&opts, args).into(),
        Command::Sim {
            action:
                SimAction::Call {
                    from,
                    to,
                    url,
                    no_answer,
                },
        } => sim_call(&url, &from, &to, !no_answer).into(),
        Command::Demo => demo().into(),
        Command::InstallHandler { print } => install_handler(print).into(),
        Command::Reference => {
            out!("{}", ctibridge::reference::markdown());
            ExitCode::SUCCESS
        }
    }
}

/// `ctibridge 0388202020` and `ctibridge tel:…` (how a desktop URL handler
/// or an ERP launches us) mean `ctibridge dial …`.
fn with_implicit_dial(mut args: Vec<OsString>) -> Vec<OsString> {
    const SUBCOMMANDS: &[&str] = &[
        "check",
        "dial",
        "watch",
        "sms",
        "forward-profile",
        "profiles",
        "serve",
        "sim",
        "demo",
        "reference",
        "install-handler",
        "help",
    ];
    const TAKE_VALUE: &[&str] = &["--sys-dir", "--param", "--station", "--provider"];
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy().into_owned();
        if SUBCOMMANDS.contains(&a.as_str()) || a == "--" {
            return args;
        }
        if TAKE_VALUE.contains(&a.as_str()) {
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

/// Logs on stderr at the level `-v` asks (or `CTIBRIDGE_LOG`), and at debug
/// level into the `<debug>1` log file once the configuration opens it.
fn init_logging(verbose: u8, quiet: &'static str) -> LogFile {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::Layer as _;
    let level = match verbose {
        0 => quiet,
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CTIBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let log_file = LogFile::default();
    let writer = log_file.clone();
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || ctibridge::redact::Masking::new(writer.clone()))
        .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG);
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(|| ctibridge::redact::Masking::new(std::io::stderr()))
                .with_filter(filter),
        )
        .with(file_layer)
        .try_init();
    log_file
}

/// Opens the log file when `<debug>1`.
fn open_debug_log(log_file: &LogFile, debug: bool) {
    if debug && !log_file.is_open() {
        match log_file.open() {
            Ok(path) => tracing::debug!(path = %path.display(), "debug log"),
            Err(e) => tracing::warn!("<debug>1 but the log file cannot be opened: {e}"),
        }
    }
}

fn check(opts: &LocateOptions, json: bool) -> Exit {
    let loaded = load::load(Locations::from_env(opts));
    let report = explain::report(&loaded);
    if json {
        print_json(&report);
    } else {
        err!("{}", loaded.diagnostics.render(&loaded.sources));
        if let Some(e) = &report.explanation {
            out!("{}", explain::render(e));
        }
    }
    if report.ok {
        Exit::Ok
    } else {
        Exit::Config
    }
}

/// What every command that uses the param files starts with: the files
/// loaded and checked (every problem printed), the `<debug>1` log opened,
/// a current-thread runtime.
struct Session {
    loaded: load::Loaded,
    runtime: tokio::runtime::Runtime,
}

impl Session {
    fn start(opts: &LocateOptions, log_file: &LogFile) -> Result<Session, Exit> {
        let loaded = load::load(Locations::from_env(opts));
        let Some(checked) = loaded.checked.as_ref().filter(|_| !loaded.has_errors()) else {
            err!("{}", loaded.diagnostics.render(&loaded.sources));
            return Err(Exit::Config);
        };
        open_debug_log(log_file, checked.config.global.debug.value);
        let runtime = current_thread_runtime().ok_or(Exit::Network)?;
        Ok(Session { loaded, runtime })
    }

    fn config(&self) -> &ctibridge::config::Config {
        &self
            .loaded
            .checked
            .as_ref()
            .expect("Session::start keeps only checked configurations")
            .config
    }

    /// Where problems with no line of their own are reported.
    fn fallback(&self) -> Span {
        Span::file(self.loaded.param_file())
    }

    /// Prints a failure at its line and gives its exit code.
    fn fail(&self, failure: &Failure) -> Exit {
        let sources = &self.loaded.sources;
        match failure {
            Failure::Config(ds) => ds.iter().for_each(|d| err!("{}", d.render(sources))),
            Failure::BadNumber(e) => errln!("error: {e}\n  = help: nothing was sent"),
            Failure::Network(d) | Failure::Refused(d) => err!("{}", d.render(sources)),
        }
        failure.exit()
    }
}

fn dial(opts: &LocateOptions, req: DialRequest, log_file: &LogFile) -> Exit {
    let s = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    tracing::debug!(target = %req.target, interface = s.config().interface.value.as_str(), "dial");
    match s
        .runtime
        .block_on(dial::dial(s.config(), &req, s.fallback()))
    {
        Ok(Outcome::Placed { status }) => {
            tracing::info!(status, "call placed");
            Exit::Ok
        }
        Ok(Outcome::Launched { program }) => {
            tracing::info!(program, "command started");
            Exit::Ok
        }
        Ok(Outcome::DryRun(text)) => {
            out!("{text}");
            Exit::Ok
        }
        Err(failure) => s.fail(&failure),
    }
}

/// Keyyo's guide limits a message to 64 characters.
const SMS_MAX_CHARS: usize = 64;

fn sms(opts: &LocateOptions, log_file: &LogFile, number: String, message: String) -> Exit {
    if message.chars().count() > SMS_MAX_CHARS {
        errln!(
            "error: the message has {} characters; at most {SMS_MAX_CHARS} can be sent\n  = help: nothing was sent",
            message.chars().count()
        );
        return Exit::Config;
    }
    if message.trim().is_empty() {
        errln!("error: the message is empty\n  = help: nothing was sent");
        return Exit::Config;
    }
    let s = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    match s
        .runtime
        .block_on(dial::sms(s.config(), number, message, s.fallback()))
    {
        Ok(_) => Exit::Ok,
        Err(failure) => s.fail(&failure),
    }
}

fn forward_profile(opts: &LocateOptions, log_file: &LogFile, name: String) -> Exit {
    let s = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    match s
        .runtime
        .block_on(dial::forward_profile(s.config(), name, s.fallback()))
    {
        Ok(_) => Exit::Ok,
        Err(failure) => s.fail(&failure),
    }
}

fn current_thread_runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            errln!("error: cannot start: {e}");
            None
        }
    }
}

/// `ctibridge serve`'s options.
#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// The server file [default: server_param.txt in the sys folder].
    #[arg(long, value_name = "FILE")]
    server: Option<PathBuf>,
    /// The address to listen on [default: the server file's <listen>,
    /// else 127.0.0.1:8082].
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Use the simulator as the provider. Without a server file, any
    /// desk of this machine is accepted (no file needed).
    #[arg(long)]
    sim: bool,
    /// How long getevent holds a poll with nothing to say [default:
    /// <hold>, else 25].
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds_arg)]
    hold: Option<std::time::Duration>,
    /// The call journal (SQLite) [default: <journal>, else in memory].
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// No longer taken: a secret on the command line is in the process
    /// list. The secret comes from <keyyo_notify><secret> or the
    /// environment variable CTIBRIDGE_KEYYO_SECRET.
    #[arg(long, value_name = "SECRET", hide = true)]
    keyyo_secret: Option<String>,
    /// The addresses Keyyo notifies from, as the Keyyo manager writes
    /// them: a regular expression such as 62\.39\.136\.157|83\.136\.160\.79
    /// [default: <keyyo_notify><sources>, else this machine only]
    #[arg(long, value_name = "REGEX")]
    keyyo_sources: Option<String>,
}

/// The environment variable that gives the Keyyo notification secret
/// (instead of the server file's `<keyyo_notify><secret>`).
const KEYYO_SECRET_ENV: &str = "CTIBRIDGE_KEYYO_SECRET";

fn check_server(file: &std::path::Path, json: bool, show_secret: bool) -> Exit {
    let loaded = ctibridge::server::settings::load(file);
    let secret_url = || {
        let s = loaded.settings.as_ref()?;
        let k = s.keyyo.as_ref()?;
        let base = s
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", s.listen));
        Some(ctibridge::server::keyyo::manager_url(&base, &k.secret))
    };
    if json {
        let diagnostics: Vec<_> = loaded
            .diagnostics
            .shown()
            .into_iter()
            .map(|d| d.to_json(&loaded.sources))
            .collect();
        let v = serde_json::json!({
            "ok": !loaded.has_errors(),
            "errors": loaded.diagnostics.error_count(),
            "warnings": loaded.diagnostics.warning_count(),
            "not_shown": loaded.diagnostics.not_shown(),
            "files": loaded.files,
            "diagnostics": diagnostics,
            "explanation": loaded.settings.as_ref().map(ctibridge::server::settings::explain),
        });
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        err!("{}", loaded.diagnostics.render(&loaded.sources));
        if let Some(s) = &loaded.settings {
            out!("{}", ctibridge::server::settings::explain(s));
        }
        if show_secret {
            match secret_url() {
                // Asked for: the one place a secret is printed.
                Some(url) => {
                    use std::io::Write as _;
                    let _ = writeln!(
                        std::io::stdout(),
                        "Keyyo notification URL, with its secret (keep it private):\n{url}"
                    );
                }
                None => errln!("note: no Keyyo notifications in this file: no secret to show"),
            }
        }
    }
    if loaded.has_errors() {
        Exit::Config
    } else {
        Exit::Ok
    }
}

fn serve(opts: &LocateOptions, args: ServeArgs) -> Exit {
    use ctibridge::server::{self, api::ServerOptions, settings, sim::Timings, ServeOptions};
    // The server file: --server, else server_param.txt in the sys folder,
    // which only --sim may do without.
    let default_file = Locations::from_env(opts).sys_dir.join(settings::FILE_NAME);
    let file = match (&args.server, args.sim) {
        (Some(f), _) => Some(f.clone()),
        (None, sim) if !sim || default_file.exists() => Some(default_file),
        (None, _) => None,
    };
    let mut found = match &file {
        Some(f) => {
            let loaded = settings::load(f);
            err!("{}", loaded.diagnostics.render(&loaded.sources));
            match loaded.settings {
                Some(s) => s,
                None => {
                    if args.server.is_none() && !f.exists() {
                        errln!("note: `ctibridge serve --sim` needs no server file");
                    }
                    return Exit::Config;
                }
            }
        }
        None => settings::ServerSettings::zero_config(),
    };
    if args.sim {
        found.simulator = true;
        found.dialer = None;
    }
    let listen = args.listen.unwrap_or(found.listen);
    if args.keyyo_secret.is_some() {
        errln!("error: --keyyo-secret is no longer taken: a secret on the command line can be read by anyone on this machine (process list, shell history)\n  = help: set <keyyo_notify><secret> in the server file, or the environment variable {KEYYO_SECRET_ENV}");
        return Exit::Config;
    }
    let env_secret = std::env::var(KEYYO_SECRET_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty());
    // The file's notification settings, unless the environment or the
    // command line changes them.
    let keyyo = match (env_secret, args.keyyo_sources) {
        (None, None) => found.keyyo,
        (secret, sources) => {
            let file = found.keyyo.as_ref();
            match secret.or_else(|| file.map(|k| k.secret.clone())) {
                None => None,
                Some(secret) => {
                    let sources = sources
                        .or_else(|| file.map(|k| k.sources.clone()))
                        .unwrap_or_else(|| settings::default_of("sources").to_owned());
                    match ctibridge::server::keyyo::KeyyoOptions::new(&secret, &sources) {
                        Ok(k) => Some(k),
                        Err(e) => {
                            errln!("error: {e}");
                            return Exit::Config;
                        }
                    }
                }
            }
        }
    };
    if keyyo.is_some() {
        let (base, note) = match &found.public_url {
            Some(u) => (u.clone(), ""),
            None => (
                format!("http://{listen}"),
                " (replace the address with this server's public one, or set <public_url>)",
            ),
        };
        // Never the secret itself: the output of a service ends up in logs.
        outln!(
            "Keyyo notification URL to paste in the Keyyo manager{note}, secret masked (`ctibridge check --server FILE --show-secret` shows it):\n{}",
            ctibridge::server::keyyo::manager_url(&base, ctibridge::redact::MASK)
        );
    }
    let Some(rt) = current_thread_runtime() else {
        return Exit::Network;
    };
    let serve_opts = ServeOptions {
        listen,
        sim: found.simulator,
        server: ServerOptions {
            hold: args.hold.unwrap_or(found.hold),
            token_ttl: found.token_ttl,
            cti_rate: found.cti_rate,
            notify_rate: found.notify_rate,
            keyyo,
            desks: found.desks,
            country: found.country,
            tel_format: found.tel_format,
            ..ServerOptions::default()
        },
        timings: Timings::default(),
        journal: args.journal.or(found.journal),
        relay: found.relay,
        max_connections: found.max_connections,
        dialer: found.dialer.map(std::sync::Arc::new),
    };
    match rt.block_on(server::serve(serve_opts, None, None)) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            errln!("error: cannot serve on {listen}: {e}");
            Exit::Network
        }
    }
}

fn sim_call(url: &str, from: &str, to: &str, answer: bool) -> Exit {
    let (from, to) = match (number::parse_target(from), number::parse_target(to)) {
        (Ok(f), Ok(t)) => (f.number, t.number),
        (Err(e), _) | (_, Err(e)) => {
            errln!("error: {e}\n  = help: nothing was sent");
            return Exit::BadNumber;
        }
    };
    let Some(rt) = current_thread_runtime() else {
        return Exit::Network;
    };
    match rt.block_on(ctibridge::server::sim::inject(url, &from, &to, answer)) {
        Ok(resp) if resp.is_success() => {
            outln!("{}", resp.body.trim());
            Exit::Ok
        }
        Ok(resp) => {
            errln!(
                "error: the bridge server refused: HTTP {}: {}",
                resp.status,
                resp.body_start()
            );
            Exit::Refused
        }
        Err(e) => {
            errln!("error: cannot reach the bridge server at {url}: {e}\n  = help: start it with `ctibridge serve --sim`");
            Exit::Network
        }
    }
}

fn profiles(action: Option<ProfilesAction>) -> Exit {
    use ctibridge::profile::{lookup, PROFILES};
    match action {
        None => {
            for p in PROFILES {
                outln!("{:<8} {}", p.name, p.summary);
            }
            outln!("\n`ctibridge profiles show NAME` prints one; `<provider>NAME` in <global> uses it.");
            Exit::Ok
        }
        Some(ProfilesAction::Show { name }) => match lookup(&name) {
            Some(p) => {
                out!("{}", p.text);
                Exit::Ok
            }
            None => {
                let guess = ctibridge::diag::did_you_mean(&name, PROFILES.iter().map(|p| p.name));
                errln!("error: there is no built-in profile `{name}`");
                match guess {
                    Some(g) => errln!("  = help: did you mean `{g}`?"),
                    None => errln!(
                        "  = help: the built-in profiles are: {}",
                        PROFILES
                            .iter()
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
                Exit::Config
            }
        },
    }
}

fn parse_seconds_arg(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
        return Err(format!("`{s}` is not a positive number of seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

fn watch(opts: &LocateOptions, wopts: WatchOptions, log_file: &LogFile) -> Exit {
    let s = match Session::start(opts, log_file) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let mut out = ctibridge::redact::Masking::new(std::io::stdout().lock());
    match s
        .runtime
        .block_on(watch::watch(s.config(), &wopts, &mut out, s.fallback()))
    {
        Ok(stop) => {
            tracing::info!(?stop, "watch stopped");
            Exit::Ok
        }
        Err(failure) => s.fail(&failure),
    }
}

fn install_handler(print_only: bool) -> Exit {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("ctibridge"));
    let plan = match ctibridge::handler::plan_for_this_platform(&exe) {
        Ok(p) => p,
        Err(e) => {
            errln!("error: {e}");
            return Exit::Config;
        }
    };
    if print_only {
        out!("{}", plan.describe());
        return Exit::Ok;
    }
    match ctibridge::handler::install(&plan) {
        Ok(notes) => {
            notes.iter().for_each(|n| outln!("{n}"));
            Exit::Ok
        }
        Err(e) => {
            errln!("error: {e}");
            Exit::Config
        }
    }
}

fn print_json(report: &Report) {
    let mut out = ctibridge::redact::Masking::new(std::io::stdout().lock());
    let _ = serde_json::to_writer_pretty(&mut out, report);
    let _ = writeln!(out);
}

fn demo() -> Exit {
    let mut out = ctibridge::redact::Masking::new(std::io::stdout().lock());
    match ctibridge::demo::run(&mut out) {
        Ok(summary) if summary.dialled && summary.screen_pops > 0 => Exit::Ok,
        Ok(_) => {
            errln!("error: the demo did not see a call placed and popped");
            Exit::Network
        }
        Err(e) => {
            errln!("error: {e}");
            Exit::Network
        }
    }
}
