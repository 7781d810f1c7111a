//! A server for the serve benchmarks: the real router and writer in this process over a fresh
//! data directory, one admin token with a rate limit out of the way, listening on loopback.

use std::time::Duration;

use opsloop::config::{Role, Settings, TokenSetting};
use opsloop::data_dir::DataDir;
use opsloop::serve::{ServeOptions, Service};

/// The token the clients send.
pub const TOKEN: &str = "load-token-0123456789";

/// A running server and its base URL.
pub struct Running {
    pub service: Service,
    pub runtime: tokio::runtime::Runtime,
    pub base: String,
    /// The data directory, removed when the server is dropped.
    _dir: tempfile::TempDir,
}

/// The default settings with [`TOKEN`] as an admin token and the rate limit out of the way.
pub fn settings() -> Settings {
    let mut settings = Settings::default();
    settings.serve.tokens = vec![TokenSetting { name: "load".into(), token: TOKEN.into(), role: Role::Admin }];
    settings.serve.requests_per_second = 100_000;
    settings.serve.burst = 100_000;
    settings
}

/// Starts a server with `options` over a fresh data directory.
pub fn start(options: &ServeOptions) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    let settings = settings();
    let service = Service::start(&data, &settings, options).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = service.router();
    runtime.spawn(async move { axum::serve(listener, router).await.unwrap() });
    Running { service, runtime, base, _dir: dir }
}

impl Running {
    /// Stops the listener, then the server (committing what it holds).
    pub fn stop(self) {
        self.runtime.shutdown_timeout(Duration::from_secs(5));
        self.service.stop();
    }
}
