//! Makes sure the `wasm32-wasip2` target is installed before the build scripts compile plugins
//! to it, so `cargo run` and `cargo test` work on a fresh machine.
//!
//! `rust-toolchain.toml` lists the target, but rustup applies that only when it installs the
//! toolchain, not to a toolchain already present. So the build scripts check for the target's
//! standard library themselves: when it is missing and rustup is there, they add it (saying so
//! once); without rustup they fail with the command that fixes it.
//!
//! [`decide`] is the judgement, free of side effects and unit-tested; [`ensure`] gathers the
//! facts, acts on the decision and returns what to tell the user.

use std::path::Path;
use std::process::Command;

/// The target the plugins are compiled to.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// What the build does about the Wasm target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPlan {
    /// The target's standard library is installed: build.
    Ready,
    /// Missing, and rustup can add it: run this command (program and arguments), then build.
    Install(Vec<String>),
    /// Missing, and nothing here can add it: fail with this message.
    Fail(String),
}

/// Decides what to do, from whether the target's library directory exists (`installed`),
/// whether a working `rustup` was found, and the toolchain rustup runs this build with
/// (`RUSTUP_TOOLCHAIN`, when set).
pub fn decide(installed: bool, rustup: bool, toolchain: Option<&str>) -> TargetPlan {
    if installed {
        return TargetPlan::Ready;
    }
    let mut command = vec!["rustup".to_string(), "target".into(), "add".into(), WASM_TARGET.into()];
    if let Some(toolchain) = toolchain.filter(|name| !name.is_empty()) {
        command.extend(["--toolchain".to_string(), toolchain.to_string()]);
    }
    if rustup {
        return TargetPlan::Install(command);
    }
    TargetPlan::Fail(format!(
        "building the Wasm plugins needs the {WASM_TARGET} target, which this Rust toolchain does not have; \
         install it with `{}` (with rustup), or install your distribution's {WASM_TARGET} standard library",
        command.join(" ")
    ))
}

/// Checks for the target and installs it when it can. `Ok(Some(note))` when it installed it
/// (the build script shows the note once), `Ok(None)` when it was there, `Err(message)` when
/// the build cannot go on.
pub fn ensure(rustc: &Path, lock_dir: &Path) -> Result<Option<String>, String> {
    // The host's and the suite's build scripts may run at once: one checks and installs, the
    // other waits and then finds the target there.
    std::fs::create_dir_all(lock_dir).map_err(|error| format!("create {}: {error}", lock_dir.display()))?;
    let lock_path = lock_dir.join(".wasm-target.lock");
    let lock = std::fs::File::create(&lock_path).map_err(|error| format!("create {}: {error}", lock_path.display()))?;
    lock.lock().map_err(|error| format!("lock {}: {error}", lock_path.display()))?;

    let toolchain = std::env::var("RUSTUP_TOOLCHAIN").ok();
    let rustup = || Command::new("rustup").arg("--version").output().is_ok_and(|output| output.status.success());
    match decide(target_installed(rustc), rustup(), toolchain.as_deref()) {
        TargetPlan::Ready => Ok(None),
        TargetPlan::Fail(message) => Err(message),
        TargetPlan::Install(command) => {
            let shown = command.join(" ");
            let output = Command::new(&command[0])
                .args(&command[1..])
                .output()
                .map_err(|error| format!("run `{shown}`: {error}"))?;
            if !output.status.success() || !target_installed(rustc) {
                return Err(format!(
                    "building the Wasm plugins needs the {WASM_TARGET} target; `{shown}` failed:\n{}",
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            Ok(Some(format!("the {WASM_TARGET} target was missing and is now installed (`{shown}`)")))
        }
    }
}

/// Whether `rustc` has the target's standard library (its `target-libdir` exists).
fn target_installed(rustc: &Path) -> bool {
    Command::new(rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .is_some_and(|dir| !dir.is_empty() && Path::new(&dir).is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installed_target_builds_whatever_else_is_there() {
        assert_eq!(decide(true, true, Some("1.95.0")), TargetPlan::Ready);
        assert_eq!(decide(true, false, None), TargetPlan::Ready);
    }

    #[test]
    fn a_missing_target_is_installed_with_rustup_for_the_toolchain_of_the_build() {
        assert_eq!(
            decide(false, true, Some("1.95.0-x86_64-unknown-linux-gnu")),
            TargetPlan::Install(
                ["rustup", "target", "add", "wasm32-wasip2", "--toolchain", "1.95.0-x86_64-unknown-linux-gnu"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(
            decide(false, true, None),
            TargetPlan::Install(["rustup", "target", "add", "wasm32-wasip2"].map(String::from).to_vec())
        );
    }

    #[test]
    fn a_missing_target_without_rustup_fails_with_the_exact_command() {
        let TargetPlan::Fail(message) = decide(false, false, None) else { panic!("expected a failure") };
        assert!(message.contains("`rustup target add wasm32-wasip2`"), "{message}");
        assert!(message.contains("needs the wasm32-wasip2 target"), "{message}");
    }

    #[test]
    fn this_build_found_the_target() {
        // The build script ran before this test was compiled, so the target is there now.
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        assert!(target_installed(Path::new(&rustc)));
    }
}
