//! The `opsloop` binary: parses the command line and runs the command.

/// Many threads allocate small strings per record (parsing, plugins' answers, index
/// documents); mimalloc's per-thread heaps avoid glibc malloc's arena locks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    opsloop::cli::main()
}
