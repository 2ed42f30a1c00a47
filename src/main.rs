//! The `ctibridge` command: its arguments ([`cli`]), then one module per
//! subcommand ([`cmd`]).

#[macro_use]
mod print;
mod background;
mod cli;
mod cmd;
mod env;
mod exit;
mod logging;
mod session;

use std::process::ExitCode;

use clap::CommandFactory as _;

fn main() -> ExitCode {
    if std::env::args_os().len() <= 1 {
        let _ = cli::Cli::command().print_help();
        return ExitCode::SUCCESS;
    }
    cmd::run(cli::parse(std::env::args_os().collect()))
}
