//! Rate limiting per token subject (with a quota per role), and per client IP for requests
//! without a valid token: a token bucket (GCRA, the `governor` crate) refilled evenly over a
//! minute, refused with HTTP 429 and `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use domain::access::Role;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimits;

pub struct Limiter {
    enabled: bool,
    by_role: HashMap<Role, DefaultKeyedRateLimiter<String>>,
    anonymous: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

fn per_minute(n: u32) -> Quota {
    // `validate` keeps every quota at least 1.
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Limiter {
    pub fn new(settings: &RateLimits) -> Self {
        let roles = [
            Role::City,
            Role::Region,
            Role::Ngo,
            Role::Funder,
            Role::Admin,
        ];
        let by_role = roles
            .into_iter()
            .map(|role| {
                let n = settings
                    .per_role
                    .get(role.code())
                    .copied()
                    .unwrap_or(settings.default);
                (role, RateLimiter::keyed(per_minute(n)))
            })
            .collect();
        Self {
            enabled: settings.enabled,
            by_role,
            anonymous: RateLimiter::keyed(per_minute(settings.anonymous)),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(wait)` when the subject has used its quota.
    pub fn check_subject(&self, role: Role, subject: &str) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        match self.by_role.get(&role) {
            Some(limiter) => limiter
                .check_key(&subject.to_owned())
                .map_err(|not_until| not_until.wait_time_from(self.clock.now())),
            None => Ok(()),
        }
    }

    /// `Err(wait)` when the address has used the quota of requests without a valid token.
    pub fn check_anonymous(&self, ip: IpAddr) -> Result<(), Duration> {
        if !self.enabled {
            return Ok(());
        }
        self.anonymous
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose buckets are full again, so memory follows active clients.
    pub fn shrink(&self) {
        for limiter in self.by_role.values() {
            limiter.retain_recent();
        }
        self.anonymous.retain_recent();
    }
}
