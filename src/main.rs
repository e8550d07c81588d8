use clap::Parser;
use gatewatch::cli::{Cli, Command};
use gatewatch::cmd;

fn main() {
    let cli = Cli::parse();
    // bulk work at its default priority runs in a session of its own, weighed lowest against the gateway's
    if cli.bulk_priority() == Some(gatewatch::priority::Priority::Low)
        && let Some(code) = gatewatch::bulk_session::run_apart()
    {
        std::process::exit(code);
    }
    let result = match cli.command {
        Some(Command::Report(a)) => cmd::report::run(a),
        Some(Command::Demo(a)) => cmd::demo::run(a),
        Some(Command::Generate(a)) => cmd::generate::run(a),
        Some(Command::Tail(a)) => cmd::tail::run(a),
        Some(Command::Trace(a)) => cmd::trace::run(a),
        Some(Command::Replay(a)) => cmd::replay::run(*a),
        Some(Command::Token(a)) => cmd::token::run(a),
        Some(Command::Completions(a)) => gatewatch::manual::print_completions(a.shell),
        Some(Command::Man) => gatewatch::manual::print_man(),
        None => gatewatch::ui::run::run(cli.console),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => gatewatch::exit::exit_code(&e),
    };
    std::process::exit(code);
}
