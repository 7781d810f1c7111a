//! Builds the Python and JavaScript `keywords` fixtures with their toolchains, for the tests
//! (`host/tests/languages.rs`) and the plugin runtime bench, which include this file.
//!
//! A component is cached in `cache` under a name made of a hash of its sources, the contract
//! and the toolchain's version, so it is built once and rebuilt only when one of them changes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// Stdout of a command that must succeed; its output when it did not.
pub fn must(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The component built from `sources` (paths in `workspace`) by `build`, cached in `cache`.
pub fn cached_component(
    workspace: &Path,
    cache: &Path,
    name: &str,
    sources: &[&str],
    toolchain: &str,
    build: impl FnOnce(&Path),
) -> PathBuf {
    let mut digest = Sha256::new();
    for source in sources.iter().chain(["wit/plugin.wit"].iter()) {
        digest.update(std::fs::read(workspace.join(source)).unwrap());
    }
    digest.update(toolchain.as_bytes());
    let hash: String = digest.finalize().iter().take(8).map(|byte| format!("{byte:02x}")).collect();
    std::fs::create_dir_all(cache).unwrap();
    let path = cache.join(format!("{name}-{hash}.wasm"));
    if !path.is_file() {
        let building = path.with_extension(format!("building{}", std::process::id()));
        build(&building);
        std::fs::rename(&building, &path).unwrap();
    }
    path
}

/// Copies each `(source, name)` of the workspace into a fresh `dir` under `name`: a fixture is
/// built from its own source beside the batch helper the templates ship, not from a copy of it.
fn stage(workspace: &Path, dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    for (source, name) in files {
        std::fs::copy(workspace.join(source), dir.join(name)).unwrap();
    }
    dir.to_path_buf()
}

/// The Python fixture and the helper `plugin new --lang python` ships.
const PYTHON_SOURCES: [(&str, &str); 2] = [
    ("tests/languages/python/app.py", "app.py"),
    ("host/src/cli/scaffold/python/opsloop_batch.py.template", "opsloop_batch.py"),
];

/// The JavaScript fixture and the helper `plugin new --lang js` ships.
const JS_SOURCES: [(&str, &str); 2] = [
    ("tests/languages/js/keywords.js", "keywords.js"),
    ("host/src/cli/scaffold/js/opsloop-batch.js.template", "opsloop-batch.js"),
];

/// `keywords-python`, built by componentize-py from `tests/languages/python`.
pub fn python_component(workspace: &Path, cache: &Path) -> PathBuf {
    let version = Command::new("componentize-py")
        .arg("--version")
        .output()
        .expect("componentize-py is not installed: `python3 -m pip install -r host/tests/clients/requirements.txt`");
    let version = must(version, "componentize-py --version");
    let sources = PYTHON_SOURCES.map(|(source, _)| source);
    cached_component(workspace, cache, "keywords-py", &sources, &version, |out| {
        let staged = stage(workspace, &cache.join("keywords-py-src"), &PYTHON_SOURCES);
        let output = Command::new("componentize-py")
            .current_dir(workspace)
            .args(["-d", "wit", "-w", "plugin", "componentize", "-p"])
            .arg(&staged)
            .args(["app", "-o"])
            .arg(out)
            .output()
            .unwrap();
        must(output, "componentize-py");
    })
}

/// componentize-js as `npm ci --prefix host/tests/clients` installs it, and its version.
pub fn componentize_js(workspace: &Path) -> (PathBuf, String) {
    let tool = workspace.join("host/tests/clients/node_modules/.bin/componentize-js");
    assert!(tool.exists(), "componentize-js is not installed: `npm ci --prefix host/tests/clients`");
    let package = workspace.join("host/tests/clients/node_modules/@bytecodealliance/componentize-js/package.json");
    (tool, std::fs::read_to_string(package).unwrap())
}

/// `keywords-js`, built by componentize-js from `tests/languages/js` with the features that
/// would import `wasi:http` turned off (`features_off: false` keeps them, for the test that
/// the host names that import).
pub fn js_component(workspace: &Path, cache: &Path, features_off: bool) -> PathBuf {
    let (tool, version) = componentize_js(workspace);
    let sources = JS_SOURCES.map(|(source, _)| source);
    let name = if features_off { "keywords-js" } else { "keywords-js-http" };
    cached_component(workspace, cache, name, &sources, &version, |out| {
        let staged = stage(workspace, &cache.join(format!("{name}-src")), &JS_SOURCES);
        let mut command = Command::new(&tool);
        command.current_dir(workspace).args(["--wit", "wit", "--world-name", "plugin"]);
        if features_off {
            command.args(["--disable", "http", "fetch-event"]);
        }
        let output = command.arg("-o").arg(out).arg(staged.join("keywords.js")).output().unwrap();
        must(output, "componentize-js");
    })
}
