//! `opsloop plugin new NAME [--lang rust|python|js]`: a plugin project to start from, with an
//! example analyzer, the contract (`wit/plugin.wit`) and a build that runs offline once the
//! language's toolchain is installed.
//!
//! Rust projects depend on the SDK by version; run inside an opsloop checkout (or given
//! `--sdk PATH`) they also get the checkout's SDK as a path, so they build without crates.io's
//! copy. Python and JavaScript projects get a helper module for the columnar batch, so an
//! author reads messages and sets annotations without meeting byte offsets or the "no value"
//! marker.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{Out, UsageError};

/// The language a new plugin is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Language {
    /// A Rust crate on the opsloop SDK; `cargo build --target wasm32-wasip2`.
    Rust,
    /// A Python module built by componentize-py.
    Python,
    /// A JavaScript module built by componentize-js.
    Js,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The plugin's name (lowercase letters, digits and `-`), also the crate's or package's.
    pub name: String,
    /// The language to write it in.
    #[arg(long, value_enum, default_value = "rust")]
    pub lang: Language,
    /// Where to create it (default: a directory named NAME here).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The `sdk/` directory of an opsloop checkout to build against (Rust; default: the
    /// checkout this is run in, if any, else the SDK from crates.io).
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

/// The contract every template carries, as this binary speaks it.
const WIT: &str = include_str!("../../../wit/plugin.wit");

/// One file of a template: where it goes, what it holds, whether it is a script.
struct TemplateFile {
    path: &'static str,
    text: &'static str,
    executable: bool,
}

const fn file(path: &'static str, text: &'static str) -> TemplateFile {
    TemplateFile { path, text, executable: false }
}

const RUST: &[TemplateFile] = &[
    file("Cargo.toml", include_str!("scaffold/Cargo.toml.template")),
    file("src/lib.rs", include_str!("scaffold/lib.rs.template")),
    file("README.md", include_str!("scaffold/README.md.template")),
    file(".gitignore", "/target\n"),
];

const PYTHON: &[TemplateFile] = &[
    file("app.py", include_str!("scaffold/python/app.py.template")),
    file("opsloop_batch.py", include_str!("scaffold/python/opsloop_batch.py.template")),
    file("requirements.txt", include_str!("scaffold/python/requirements.txt.template")),
    file("README.md", include_str!("scaffold/python/README.md.template")),
    file(".gitignore", include_str!("scaffold/python/.gitignore.template")),
    TemplateFile { path: "build.sh", text: include_str!("scaffold/python/build.sh.template"), executable: true },
    file("wit/plugin.wit", WIT),
];

const JS: &[TemplateFile] = &[
    file("plugin.js", include_str!("scaffold/js/plugin.js.template")),
    file("opsloop-batch.js", include_str!("scaffold/js/opsloop-batch.js.template")),
    file("package.json", include_str!("scaffold/js/package.json.template")),
    file("README.md", include_str!("scaffold/js/README.md.template")),
    file(".gitignore", include_str!("scaffold/js/.gitignore.template")),
    TemplateFile { path: "build.sh", text: include_str!("scaffold/js/build.sh.template"), executable: true },
    file("wit/plugin.wit", WIT),
];

/// Writes a new plugin project.
pub fn scaffold(args: NewArgs, out: &mut Out) -> anyhow::Result<ExitCode> {
    let name = &args.name;
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(UsageError(format!(
            "plugin name `{name}`: use lowercase letters, digits and `-`, starting with a letter"
        ))
        .into());
    }
    if args.sdk.is_some() && args.lang != Language::Rust {
        return Err(UsageError("--sdk is for Rust plugins (--lang rust)".into()).into());
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
        return Err(UsageError(format!("{} exists and is not empty", dir.display())).into());
    }
    let crate_file = name.replace('-', "_");
    let (files, sdk) = match args.lang {
        Language::Rust => (RUST, rust_sdk(args.sdk.as_deref())?),
        Language::Python => (PYTHON, None),
        Language::Js => (JS, None),
    };
    let sdk_dependency = match &sdk {
        Some(path) => format!(
            "{{ version = \"{}\", path = \"{}\" }}",
            sdk_version(),
            path.display().to_string().replace('\\', "/")
        ),
        None => format!("\"{}\"", sdk_version()),
    };
    let fill = |template: &str| {
        template
            .replace("{crate_name}", name)
            .replace("{plugin_name}", name)
            .replace("{crate_file}", &crate_file)
            .replace("{type_name}", &type_name(name))
            .replace("{sdk_dependency}", &sdk_dependency)
    };
    for file in files {
        let path = dir.join(file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // The contract is copied as it is; templates get the plugin's names filled in.
        let text = if file.text == WIT { file.text.to_string() } else { fill(file.text) };
        std::fs::write(&path, text)?;
        if file.executable {
            make_executable(&path)?;
        }
    }
    // The checkout's lock file pins the SDK's dependencies to the versions it is tested with.
    if let Some(lock) = sdk.as_ref().and_then(|sdk| sdk.parent()).map(|root| root.join("Cargo.lock")) {
        if lock.is_file() {
            std::fs::copy(lock, dir.join("Cargo.lock"))?;
        }
    }
    out.line(format!("created {} plugin `{name}` in {}", language_name(args.lang), dir.display()))?;
    let shown = dir.display();
    match args.lang {
        Language::Rust => {
            if let Some(sdk) = &sdk {
                out.line(format!("  (building against the SDK in {})", sdk.display()))?;
            }
            out.line(format!("  cd {shown} && cargo test"))?;
            out.line("  cargo build --release --target wasm32-wasip2")?;
            out.line(format!("  opsloop plugin check target/wasm32-wasip2/release/{crate_file}.wasm"))?;
        }
        Language::Python | Language::Js => {
            out.line(format!("  cd {shown} && sh build.sh"))?;
            out.line(format!("  opsloop plugin check {name}.wasm"))?;
            out.line(format!("  opsloop plugin run {name}.wasm --input some.log"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn language_name(language: Language) -> &'static str {
    match language {
        Language::Rust => "Rust",
        Language::Python => "Python",
        Language::Js => "JavaScript",
    }
}

/// `word-spotter` → `WordSpotterPlugin`.
fn type_name(name: &str) -> String {
    let mut type_name: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    type_name.push_str("Plugin");
    type_name
}

/// The SDK version this binary speaks (the workspace shares one version).
fn sdk_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The SDK a Rust plugin builds against: `--sdk`, else the checkout the current directory is
/// in, else none (crates.io).
fn rust_sdk(given: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    if let Some(sdk) = given {
        if !is_sdk(sdk) {
            return Err(UsageError(format!(
                "no opsloop SDK at {} (pass the `sdk` directory of an opsloop checkout)",
                sdk.display()
            ))
            .into());
        }
        return Ok(Some(std::fs::canonicalize(sdk)?));
    }
    let here = std::env::current_dir()?;
    let found = here.ancestors().map(|dir| dir.join("sdk")).find(|sdk| is_sdk(sdk));
    Ok(found.map(|sdk| std::fs::canonicalize(&sdk).unwrap_or(sdk)))
}

fn is_sdk(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|text| text.contains("name = \"opsloop-sdk\""))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}
