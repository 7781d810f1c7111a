//! The `opsloop` binary: parses the command line and runs the command.

fn main() -> std::process::ExitCode {
    opsloop::cli::main()
}
