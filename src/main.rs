use clap::Parser;
use gatewatch::cli::{Cli, Command};
use gatewatch::commands;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Report(a)) => commands::report(a),
        Some(Command::Demo(a)) => commands::demo(a),
        Some(Command::Generate(a)) => commands::generate(a),
        Some(Command::Tail(a)) => gatewatch::tail::run(a),
        Some(Command::Trace(a)) => gatewatch::trace::run(a),
        Some(Command::Replay(a)) => commands::replay::run(*a),
        Some(Command::Token(a)) => commands::token::run(a),
        Some(Command::Completions(a)) => gatewatch::manual::print_completions(a.shell),
        Some(Command::Man) => gatewatch::manual::print_man(),
        None => gatewatch::ui::run::run(cli.console),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => commands::exit_code(&e),
    };
    std::process::exit(code);
}
