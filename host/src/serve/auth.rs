//! Who is calling: API tokens with roles, from the config file and `OPSLOOP_TOKENS`, and a rate
//! limit per token. No token, no data: every route but the health checks, the OpenAPI document
//! and the page itself needs one. A token must be at least [`MIN_TOKEN_CHARS`] long and none
//! of the example file's; an address that fails to authenticate too often is refused for a while
//! ([`AuthFailures`]), so tokens cannot be guessed at loopback speed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};

use crate::config::{Role, ServeSettings, TokenSetting};

/// The tokens the server accepts, kept as digests (a token is never logged or compared
/// byte by byte).
pub struct Tokens {
    known: Vec<([u8; 32], String, Role)>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Parses `OPSLOOP_TOKENS`: `role:token` pairs separated by commas.
pub fn tokens_from_env(text: &str) -> Result<Vec<TokenSetting>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .enumerate()
        .map(|(index, entry)| {
            let (role_name, token) =
                entry.split_once(':').ok_or_else(|| format!("OPSLOOP_TOKENS entry {}: not `role:token`", index + 1))?;
            let role = Role::parse(role_name).ok_or_else(|| {
                format!("OPSLOOP_TOKENS entry {}: role `{role_name}` is not read, ingest or admin", index + 1)
            })?;
            if token.is_empty() {
                return Err(format!("OPSLOOP_TOKENS entry {}: empty token", index + 1));
            }
            // The holder's name in messages, logs and metrics: the role, and where it was set.
            let name = format!("{role_name} (OPSLOOP_TOKENS entry {})", index + 1);
            Ok(TokenSetting { name, token: token.to_string(), role })
        })
        .collect()
}

/// The shortest token the server starts with.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The example configuration, whose tokens are published and so never accepted.
const EXAMPLE_CONFIG: &str = include_str!("../../../opsloop.example.toml");

/// Why a token is refused at start: too short, or copied from the example file.
pub fn weak_token(token: &TokenSetting) -> Option<String> {
    let example = crate::config::Settings::parse(std::path::Path::new("opsloop.example.toml"), EXAMPLE_CONFIG)
        .map(|settings| settings.serve.tokens)
        .unwrap_or_default();
    if example.iter().any(|published| published.token == token.token) {
        return Some(format!(
            "token `{}` is the one in opsloop.example.toml, which anyone can read; set a secret of your own",
            token.name
        ));
    }
    let chars = token.token.chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Some(format!(
            "token `{}` is {chars} characters long; at least {MIN_TOKEN_CHARS} are needed (e.g. `openssl rand -hex 24`)",
            token.name
        ));
    }
    None
}

impl Tokens {
    pub fn new(settings: &[TokenSetting]) -> Self {
        Self { known: settings.iter().map(|t| (digest(&t.token), t.name.clone(), t.role)).collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// The holder's name and role for `token`.
    pub fn identify(&self, token: &str) -> Option<(&str, Role)> {
        let wanted = digest(token);
        self.known.iter().find(|(known, _, _)| *known == wanted).map(|(_, name, role)| (name.as_str(), *role))
    }
}

/// A token bucket per token name.
pub struct RateLimits {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl RateLimits {
    pub fn new(settings: &ServeSettings) -> Self {
        let rate = NonZeroU32::new(settings.requests_per_second.max(1)).expect("at least 1");
        let burst = NonZeroU32::new(settings.burst.max(settings.requests_per_second).max(1)).expect("at least 1");
        Self { limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)) }
    }

    /// Ok, or the seconds to wait before the holder of `name` may call again.
    pub fn check(&self, name: &str) -> Result<(), u64> {
        use governor::clock::Clock;
        self.limiter.check_key(&name.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            wait.as_secs() + 1
        })
    }
}

/// Failed authentications by client address: after `allowed` within `window`, every request
/// from that address that needs a token is refused until `lockout` has passed, whatever token
/// it carries (a guesser must not learn that a guess was right).
pub struct AuthFailures {
    allowed: u32,
    window: Duration,
    lockout: Duration,
    by_address: Mutex<HashMap<IpAddr, FailureWindow>>,
}

#[derive(Debug, Clone, Copy)]
struct FailureWindow {
    started: Instant,
    count: u32,
    locked_until: Option<Instant>,
}

/// Addresses remembered at most; past it, windows that ended are forgotten first.
const MAX_TRACKED_ADDRESSES: usize = 65_536;

impl AuthFailures {
    pub fn new(settings: &ServeSettings) -> Self {
        Self {
            allowed: settings.auth_failures_allowed.max(1),
            window: Duration::from_millis(settings.auth_failure_window_ms.max(1)),
            lockout: Duration::from_millis(settings.auth_lockout_ms),
            by_address: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` while `address` is locked out.
    pub fn check(&self, address: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let known = self.by_address.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match known.get(&address).and_then(|entry| entry.locked_until) {
            Some(until) if until > now => Err((until - now).as_secs() + 1),
            _ => Ok(()),
        }
    }

    /// Counts a failed authentication; `Err(seconds)` when this one locks the address out.
    pub fn failed(&self, address: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut known = self.by_address.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if known.len() >= MAX_TRACKED_ADDRESSES && !known.contains_key(&address) {
            let window = self.window;
            known.retain(|_, entry| {
                now.duration_since(entry.started) < window || entry.locked_until.is_some_and(|until| until > now)
            });
            if known.len() >= MAX_TRACKED_ADDRESSES {
                // Every slot is live: no memory for one more address.
                return Ok(());
            }
        }
        let entry = known.entry(address).or_insert(FailureWindow { started: now, count: 0, locked_until: None });
        if entry.locked_until.is_some_and(|until| until <= now) || now.duration_since(entry.started) >= self.window {
            *entry = FailureWindow { started: now, count: 0, locked_until: None };
        }
        entry.count += 1;
        if entry.count >= self.allowed && entry.locked_until.is_none() {
            entry.locked_until = Some(now + self.lockout);
            tracing::warn!(%address, failures = entry.count, lockout_ms = self.lockout.as_millis() as u64, "too many failed authentications; address locked out");
            return Err(self.lockout.as_secs() + 1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_published_tokens_are_refused_with_the_holder_named() {
        let token = |text: &str| TokenSetting { name: "ops".into(), token: text.into(), role: Role::Admin };
        assert!(weak_token(&token("0123456789abcdef")).is_none());
        let short = weak_token(&token("change-me-now")).unwrap();
        assert!(short.contains("`ops`") && short.contains("13 characters") && short.contains("16"), "{short}");
        let example = crate::config::Settings::parse(std::path::Path::new("x"), EXAMPLE_CONFIG).unwrap();
        let published = weak_token(&example.serve.tokens[0]).unwrap();
        assert!(published.contains("opsloop.example.toml"), "{published}");
    }

    #[test]
    fn an_address_is_locked_out_after_the_allowed_failures_and_others_are_not() {
        let settings = ServeSettings {
            auth_failures_allowed: 3,
            auth_failure_window_ms: 10_000,
            auth_lockout_ms: 200,
            ..ServeSettings::default()
        };
        let failures = AuthFailures::new(&settings);
        let (guesser, neighbour): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
        assert!(failures.failed(guesser).is_ok() && failures.failed(guesser).is_ok());
        assert!(failures.check(guesser).is_ok());
        assert!(failures.failed(guesser).is_err(), "the third failure locks it out");
        assert!(failures.check(guesser).is_err());
        assert!(failures.check(neighbour).is_ok());
        std::thread::sleep(Duration::from_millis(250));
        assert!(failures.check(guesser).is_ok(), "the lockout ends");
        assert!(failures.failed(guesser).is_ok(), "and the count starts over");
    }

    #[test]
    fn env_tokens_parse_and_bad_ones_say_which_entry() {
        let tokens = tokens_from_env("read:abc, admin:xyz").unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[1].role, Role::Admin);
        let error = tokens_from_env("read:abc,boss:xyz").unwrap_err();
        assert!(error.contains("entry 2") && error.contains("boss"), "{error}");
        assert!(tokens_from_env("readabc").unwrap_err().contains("role:token"));
    }

    #[test]
    fn tokens_identify_their_holder_and_nothing_else() {
        let tokens = Tokens::new(&tokens_from_env("read:abc,ingest:def").unwrap());
        assert_eq!(tokens.identify("def").map(|(_, role)| role), Some(Role::Ingest));
        assert!(tokens.identify("abd").is_none());
        assert!(tokens.identify("").is_none());
    }

    #[test]
    fn the_rate_limit_refuses_past_the_burst_per_token() {
        let limits = RateLimits::new(&ServeSettings { requests_per_second: 1, burst: 2, ..ServeSettings::default() });
        assert!(limits.check("a").is_ok());
        assert!(limits.check("a").is_ok());
        assert!(limits.check("a").is_err());
        assert!(limits.check("b").is_ok(), "another token has its own bucket");
    }
}
