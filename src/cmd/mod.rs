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
            json,
            server: Some(file),
            show_secret,
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
        Command::InstallHandler { print, force } => install_handler(&opts, print, force).into(),
        Command::Completions { shell } => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "ctibridge", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man { dir } => man_pages(&dir).into(),
        Command::Reference => {
            out!("{}", ctibridge::reference::markdown());
            ExitCode::SUCCESS
        }
    }
}

/// Writes ctibridge.1 and a page per subcommand into `dir`.
fn man_pages(dir: &std::path::Path) -> ctibridge::exit::Exit {
    use clap::CommandFactory as _;
    use ctibridge::exit::Exit;
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| clap_mangen::generate_to(crate::cli::Cli::command(), dir));
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
