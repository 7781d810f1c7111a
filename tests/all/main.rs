//! All integration tests, in one binary (as wasmtime and ripgrep do): faster to build, and the
//! helpers in `util` are shared.

mod accuracy;
mod anomalies;
mod formats;
mod pipeline;
mod sandbox;
mod serve_plugins;
mod util;
