//! One module per subcommand; [`run`] dispatches to them.

mod call;
mod check;
mod demo;
mod dial;
mod doctor;
mod handler;
mod history;
mod lookup;
mod profiles;
mod report;
mod serve;
mod watch;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use ctibridge::dial::DialRequest;
use ctibridge::events::watch::WatchOptions;
use ctibridge::load::LocateOptions;

use crate::cli::{Cli, Command, SimAction};
use crate::logging::init_logging;
use check::{check, check_server};
use demo::demo;
use dial::{dial, forward_profile, sms};
use doctor::{doctor, doctor_server};
use handler::install_handler;
use profiles::profiles;
use serve::{serve, sim_call};
use watch::watch;

/// Runs the subcommand `cli` asks for.
pub(crate) fn run(cli: Cli) -> ExitCode {
    // `watch` runs all day: say when it starts and when the source comes back.
    // `serve` too: one line when it starts, one when it stops.
    let quiet = match cli.command {
        Command::Watch { .. } => "warn,ctibridge::watch=info,ctibridge::names=info",
        Command::Serve(_) => "warn,ctibridge::serve=info,ctibridge::names=info",
        _ => "warn",
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
            file: Some(file),
            json,
            show_secret,
            ..
        } if check::is_server_file(&file) => check_server(&file, json, show_secret).into(),
        Command::Check {
            show_secret: true,
            server: None,
            ..
        } => {
            errln!("error: --show-secret shows the Keyyo notification URL of a bridge server's file\n  = help: `ctibridge check --server server_param.txt --show-secret`");
            ctibridge::exit::Exit::Usage.into()
        }
        Command::Check {
            file: Some(file),
            json,
            ..
        } => check(
            &LocateOptions {
                param: Some(file),
                ..opts
            },
            json,
        )
        .into(),
        Command::Check {
            json,
            server: Some(file),
            show_secret,
            ..
        } => check_server(&file, json, show_secret).into(),
        Command::Check {
            json, server: None, ..
        } => check(&opts, json).into(),
        Command::Doctor { server: Some(file) } => doctor_server(&file).into(),
        Command::Doctor { server: None } => doctor(&opts).into(),
        Command::History {
            line,
            kind,
            since,
            limit,
            journal,
            json,
        } => history::history(
            &opts,
            &log_file,
            history::HistoryArgs {
                line,
                kind,
                since,
                limit,
                journal,
                json,
            },
        )
        .into(),
        Command::Report {
            dry_run,
            server,
            line,
        } => report::report(
            &opts,
            &log_file,
            server.as_deref(),
            line.as_deref(),
            dry_run,
        )
        .into(),
        Command::Lookup {
            number,
            directory: Some(directory),
            country,
            json,
            ..
        } => lookup::lookup_in_directory(&number, &directory, &country, json).into(),
        Command::Lookup {
            number,
            directory: None,
            dry_run,
            json,
            ..
        } => lookup::lookup(&opts, &log_file, &number, dry_run, json).into(),
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
        Command::Sms {
            number,
            message,
            dry_run,
        } => sms(&opts, &log_file, number, message, dry_run).into(),
        Command::ForwardProfile { name, dry_run } => {
            forward_profile(&opts, &log_file, name, dry_run).into()
        }
        Command::Profiles { action } => profiles(action).into(),
        Command::Watch {
            install_startup: true,
            print,
            force,
            ..
        } => handler::install_startup(&opts, print, force).into(),
        Command::Watch {
            uninstall_startup: true,
            ..
        } => handler::uninstall_startup().into(),
        Command::Watch {
            once,
            duration,
            json,
            background,
            ..
        } => {
            if background {
                crate::background::leave_the_console();
            }
            watch(
                &opts,
                WatchOptions {
                    once,
                    duration,
                    json: json || !std::io::stdout().is_terminal(),
                },
                &log_file,
            )
            .into()
        }
        Command::Serve(args) => serve(&opts, args).into(),
        Command::Call { action } => call::call(&opts, &log_file, action).into(),
        Command::Sim {
            action:
                SimAction::Call {
                    from,
                    to,
                    url,
                    no_answer,
                    wait,
                    cafile,
                },
        } => {
            let auto = match (no_answer, wait) {
                (true, _) => ctibridge::server::Auto::NoAnswer,
                (_, true) => ctibridge::server::Auto::Manual,
                _ => ctibridge::server::Auto::Answer,
            };
            sim_call(&url, &from, &to, auto, cafile.as_deref()).into()
        }
        Command::Demo => demo().into(),
        Command::InstallHandler {
            print,
            quiet,
            force,
        } => install_handler(&opts, print, quiet, force).into(),
        Command::UninstallHandler => handler::uninstall_handler().into(),
        Command::Completions { shell } => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "ctibridge", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man { dir } => man_pages(&dir).into(),
        Command::Echo { words } => {
            outln!("{}", words.join(" "));
            ExitCode::SUCCESS
        }
        Command::Reference => {
            out!("{}", ctibridge::reference::markdown());
            ExitCode::SUCCESS
        }
    }
}

/// The sections a man page has beyond `--help`: FILES, EXAMPLES, the
/// server file, SEE ALSO — appended to ctibridge.1 and ctibridge-serve.1.
fn more_than_help(dir: &std::path::Path) -> std::io::Result<()> {
    use clap_mangen::roff::{bold, roman, Roff};
    use std::io::Write as _;
    let item = |r: &mut Roff, term: &str, what: &str| {
        r.control("TP", []).text([bold(term)]).text([roman(what)]);
    };
    let files = |r: &mut Roff| {
        r.control("SH", ["FILES"]);
        item(r, "SYS_DIR/clicktocall_param.txt", "The param file: how to reach the provider's web API (token, dial, events). SYS_DIR is --sys-dir, else $CTIBRIDGE_SYS_DIR, else /divalto/sys.");
        item(r, "SYS_DIR/tapi_param.txt", "Three lines: the line of this desk among <lines>, the outside-line prefix, the interface.");
        item(r, "~/.config/ctibridge/station.txt", "This desk's settings (<user>, <mdp>, <ident>, <telorg>…); $CTIBRIDGE_CONFIG_DIR moves it. Keep it mode 600: it holds a password.");
        item(r, "/etc/ctibridge/server_param.txt", "The bridge server's file (SYS_DIR/server_param.txt, or --server FILE), readable by root and the service only.");
        item(r, "/var/lib/ctibridge/journal.sqlite", "The server's call journal (<journal>): every call event, the report outbox, the desks' sessions.");
        item(r, "/usr/share/doc/ctibridge/", "The documentation: param-format.md (every tag), deployments.md, watch.md, desk.md, control.md, lookup.md, report.md, providers.md.");
    };
    // ctibridge.1
    let mut r = Roff::new();
    files(&mut r);
    r.control("SH", ["EXAMPLES"]);
    for (cmd, what) in [
        ("ctibridge demo", "See it work with the built-in simulator: no account, no file."),
        ("ctibridge check", "Check the param files of the sys folder, and explain them."),
        ("ctibridge check /divalto/sys/clicktocall_param.txt", "Check one file (a server file is told apart by its <server> section)."),
        ("ctibridge doctor", "Check, without a call, that the token, the events and the provider's credentials work."),
        ("ctibridge dial 0388202020", "Place a call; ctibridge tel:+33388202020 does the same (what a clicked link runs)."),
        ("ctibridge watch", "Follow the call events and open the caller's record (<popup>)."),
        ("ctibridge serve --sim", "Run the bridge server with its simulator on 127.0.0.1:8082."),
        ("ctibridge check --server /etc/ctibridge/server_param.txt", "Check the server file; then systemctl reload ctibridge takes a renewed certificate."),
    ] {
        r.control("TP", []).text([bold(cmd)]).text([roman(what)]);
    }
    r.control("SH", ["SEE ALSO"]);
    r.text([roman("ctibridge-check(1), ctibridge-dial(1), ctibridge-watch(1), ctibridge-serve(1), /usr/share/doc/ctibridge/param-format.md")]);
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("ctibridge.1"))?
        .write_all(r.render().as_bytes())?;
    // ctibridge-serve.1
    let mut r = Roff::new();
    r.control("SH", ["THE SERVER FILE"]);
    r.text([roman("server_param.txt is written in the same tag syntax as the param file, one tag a line. Its sections:")]);
    for (tag, what) in [
        ("<server>", "<listen> (address:port, default 127.0.0.1:8082), <journal> (the SQLite file), <tls_cert> and <tls_key> (HTTPS), <public_url>, <trusted_proxies>, <monitoring>, <hold>, <record_url>, <simulator>1."),
        ("<global>, <station>", "How the server dials: a built-in <provider> (keyyo, ovh…) and the account, as in a desk's param file."),
        ("<desk>", "One per desk: <ident>, <secret> (at least 12 characters, not a common word), <lines>, <role>supervisor."),
        ("<keyyo_notify>", "Keyyo's call notifications: <secret> (at least 16 characters), <sources> (the addresses Keyyo notifies from)."),
        ("<keyyo_cti>", "Keyyo's CTI WebSocket: the CSI token, or the Manager API's OAuth2 client to mint it."),
        ("<lookup>, <report>", "Who calls (a directory or the ERP's web request) and each finished call written back to the ERP."),
    ] {
        r.control("TP", []).text([bold(tag)]).text([roman(what)]);
    }
    r.text([roman("ctibridge check --server FILE lists every problem with its line, then explains the file; /usr/share/doc/ctibridge/param-format.md lists every tag.")]);
    files(&mut r);
    r.control("SH", ["EXAMPLES"]);
    for (cmd, what) in [
        (
            "ctibridge serve --sim",
            "The simulator, any desk of this machine: no file needed.",
        ),
        (
            "ctibridge serve --server /etc/ctibridge/server_param.txt",
            "The server of a real provider (what the systemd unit runs).",
        ),
        (
            "systemctl reload ctibridge",
            "SIGHUP: a renewed certificate is read again without dropping a connection.",
        ),
    ] {
        r.control("TP", []).text([bold(cmd)]).text([roman(what)]);
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("ctibridge-serve.1"))?
        .write_all(r.render().as_bytes())
}

/// Writes ctibridge.1 and a page per subcommand into `dir`.
fn man_pages(dir: &std::path::Path) -> ctibridge::exit::Exit {
    use clap::CommandFactory as _;
    use ctibridge::exit::Exit;
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| clap_mangen::generate_to(crate::cli::Cli::command(), dir))
        .and_then(|()| more_than_help(dir));
    match written {
        Ok(()) => {
            outln!("man pages written to {}", dir.display());
            Exit::Ok
        }
        Err(e) => {
            errln!(
                "error: cannot write the man pages to {}: {e}",
                dir.display()
            );
            Exit::System
        }
    }
}
