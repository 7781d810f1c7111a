//! Who is calling: API tokens with roles, from the config file and `OPSLOOP_TOKENS`, and a rate
//! limit per token. No token, no data: every route but the health checks, the OpenAPI document
//! and the page itself needs one.

use std::num::NonZeroU32;

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
            let (role, token) =
                entry.split_once(':').ok_or_else(|| format!("OPSLOOP_TOKENS entry {}: not `role:token`", index + 1))?;
            let role = Role::parse(role).ok_or_else(|| {
                format!("OPSLOOP_TOKENS entry {}: role `{role}` is not read, ingest or admin", index + 1)
            })?;
            if token.is_empty() {
                return Err(format!("OPSLOOP_TOKENS entry {}: empty token", index + 1));
            }
            Ok(TokenSetting { name: format!("env-{}", index + 1), token: token.to_string(), role })
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

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
