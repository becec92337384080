//! Query-string parsing and validation, shared so that all three servers accept the same
//! requests and reject the rest with the same 400 body.
//!
//! Strict on purpose: a benchmark that silently accepted `n=1e7` as `n=1` (or ignored a
//! misspelt `yeild_every`) would measure something other than what its user asked for.

use std::num::NonZeroU64;

use crate::strategy::Strategy;

/// `n` when the query does not give one, for the default kernel: the Python demo's value.
pub const DEFAULT_N: u64 = 10_000_000;
/// `yield_every` when the query does not give one: the Python demo's value.
pub const DEFAULT_YIELD_EVERY: NonZeroU64 = NonZeroU64::new(100_000).expect("non-zero");
/// Longest slice of an offending value or name quoted back in an error message.
const MAX_QUOTED: usize = 64;

/// Every `reason` a 400 body can give ([`ParamError::reason`]).
pub const REASONS: [&str; 7] = [
    "unknown_parameter",
    "repeated_parameter",
    "not_a_number",
    "negative",
    "above_maximum",
    "not_a_boolean",
    "zero",
];

/// What a numeric query parameter accepts: what [`parse`] enforces and what `/openapi.json`
/// states, from one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The parameter's name.
    pub name: &'static str,
    /// Smallest value accepted.
    pub minimum: u64,
    /// Largest value accepted.
    pub maximum: u64,
    /// The value when the query does not give one.
    pub default: u64,
    /// A sentence for people.
    pub description: &'static str,
}

/// The rule of query parameter `name` on a server whose `--max-n` is `max_n`; `None` for a
/// name no strategy takes.
pub fn rule(name: &str, max_n: u64) -> Option<Rule> {
    match name {
        "n" => Some(Rule {
            name: "n",
            minimum: 0,
            maximum: max_n,
            default: DEFAULT_N.min(max_n),
            description: "kernel size, in units of the kernel's work (x-kernels says which; for \
                          sum-squares the sum runs over i in 0..n); at most the server's --max-n",
        }),
        "yield_every" => Some(Rule {
            name: "yield_every",
            minimum: 1,
            maximum: u64::MAX,
            default: DEFAULT_YIELD_EVERY.get(),
            description: "iterations between two yields to the executor",
        }),
        _ => None,
    }
}

/// A validated request for one strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Kernel size: units of the kernel's work (for `sum-squares`, the sum runs over `0..n`).
    pub n: u64,
    /// Units of work between yields; meaningful for `/cycle_sleep` only.
    pub yield_every: NonZeroU64,
}

/// Why a query was refused. Each variant names the parameter at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// The parameter is not one this endpoint takes.
    #[error("unknown parameter {name:?}: {path} accepts {accepted}")]
    Unknown {
        /// The (truncated) name as sent.
        name: String,
        /// The endpoint.
        path: &'static str,
        /// The names it accepts, comma-separated.
        accepted: String,
    },
    /// The parameter appears more than once.
    #[error("parameter {name} is given more than once")]
    Repeated {
        /// The parameter.
        name: &'static str,
    },
    /// Empty, or not made of decimal digits.
    #[error("{name} must be a whole number (decimal digits only), got {value:?}")]
    NotANumber {
        /// The parameter.
        name: &'static str,
        /// The (truncated) value as sent.
        value: String,
    },
    /// A minus sign in front of digits.
    #[error("{name} must not be negative, got {value:?}")]
    Negative {
        /// The parameter.
        name: &'static str,
        /// The (truncated) value as sent.
        value: String,
    },
    /// Digits, but more than the server allows (or than fits in 64 bits).
    #[error("{name} must be at most {max}, got {value:?}")]
    AboveMaximum {
        /// The parameter.
        name: &'static str,
        /// The (truncated) value as sent.
        value: String,
        /// The largest value accepted.
        max: u64,
    },
    /// Not `true` or `false`.
    #[error("{name} must be true or false, got {value:?}")]
    NotABoolean {
        /// The parameter.
        name: &'static str,
        /// The (truncated) value as sent.
        value: String,
    },
    /// `yield_every=0`: a loop that yields every zero iterations never advances.
    #[error("{name} must be at least 1, got 0")]
    Zero {
        /// The parameter.
        name: &'static str,
    },
}

impl ParamError {
    /// The parameter the error is about.
    pub fn parameter(&self) -> &str {
        match self {
            ParamError::Unknown { name, .. } => name,
            ParamError::Repeated { name }
            | ParamError::NotANumber { name, .. }
            | ParamError::Negative { name, .. }
            | ParamError::AboveMaximum { name, .. }
            | ParamError::NotABoolean { name, .. }
            | ParamError::Zero { name } => name,
        }
    }

    /// A stable machine-readable reason, used in the JSON body and by the conformance suite.
    pub fn reason(&self) -> &'static str {
        match self {
            ParamError::Unknown { .. } => "unknown_parameter",
            ParamError::Repeated { .. } => "repeated_parameter",
            ParamError::NotANumber { .. } => "not_a_number",
            ParamError::Negative { .. } => "negative",
            ParamError::AboveMaximum { .. } => "above_maximum",
            ParamError::NotABoolean { .. } => "not_a_boolean",
            ParamError::Zero { .. } => "zero",
        }
    }
}

/// Parses the raw query string (without `?`, still percent-encoded) of a request to
/// `strategy`'s endpoint. `max_n` is the server's `--max-n`; a query without `n` gets
/// [`DEFAULT_N`] (the default kernel's), capped by `max_n`.
pub fn parse(strategy: Strategy, query: Option<&str>, max_n: u64) -> Result<Params, ParamError> {
    parse_with_default(strategy, query, max_n, DEFAULT_N)
}

/// [`parse`], with `default_n` for a query without `n` (the server's kernel's default).
pub fn parse_with_default(
    strategy: Strategy,
    query: Option<&str>,
    max_n: u64,
    default_n: u64,
) -> Result<Params, ParamError> {
    let mut n: Option<u64> = None;
    let mut yield_every: Option<NonZeroU64> = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let accepted = strategy.parameters();
        let rule = accepted
            .iter()
            .find(|name| **name == key)
            .and_then(|name| rule(name, max_n));
        match rule {
            Some(rule @ Rule { name: "n", .. }) => {
                set_once(&mut n, "n", number(&rule, &value)?)?;
            }
            Some(
                rule @ Rule {
                    name: "yield_every",
                    ..
                },
            ) => {
                let every = NonZeroU64::new(number(&rule, &value)?).ok_or(ParamError::Zero {
                    name: "yield_every",
                })?;
                set_once(&mut yield_every, "yield_every", every)?;
            }
            _ => {
                return Err(ParamError::Unknown {
                    name: quote(&key),
                    path: strategy.path(),
                    accepted: accepted.join(", "),
                });
            }
        }
    }
    Ok(Params {
        n: n.unwrap_or(default_n.min(max_n)),
        yield_every: yield_every.unwrap_or(DEFAULT_YIELD_EVERY),
    })
}

/// Parses the query of `GET /jobs/{id}`: `wait=true|false` (default false), nothing else.
pub fn parse_wait(query: Option<&str>) -> Result<bool, ParamError> {
    let mut wait = None;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "wait" {
            return Err(ParamError::Unknown {
                name: quote(&key),
                path: "/jobs/{id}",
                accepted: "wait".into(),
            });
        }
        let v = match &*value {
            "true" => true,
            "false" => false,
            other => {
                return Err(ParamError::NotABoolean {
                    name: "wait",
                    value: quote(other),
                });
            }
        };
        set_once(&mut wait, "wait", v)?;
    }
    Ok(wait.unwrap_or(false))
}

fn set_once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), ParamError> {
    if slot.replace(value).is_some() {
        return Err(ParamError::Repeated { name });
    }
    Ok(())
}

/// Decimal digits only: no sign, no spaces, no exponent, no fraction; at most the rule's
/// maximum, and a value below its minimum is [`ParamError::Zero`] (the only minimum above 0
/// is `yield_every`'s 1).
fn number(rule: &Rule, value: &str) -> Result<u64, ParamError> {
    let (name, max) = (rule.name, rule.maximum);
    let digits = value.strip_prefix('-');
    if digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ParamError::Negative {
            name,
            value: quote(value),
        });
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamError::NotANumber {
            name,
            value: quote(value),
        });
    }
    match value.parse::<u64>() {
        Ok(v) if v < rule.minimum => Err(ParamError::Zero { name }),
        Ok(v) if v <= max => Ok(v),
        // Digits only, so the only way `parse` fails is a value beyond u64: also above max.
        Ok(_) | Err(_) => Err(ParamError::AboveMaximum {
            name,
            value: quote(value),
            max,
        }),
    }
}

/// What an error message quotes back of the client's input: at most `MAX_QUOTED` characters.
/// JSON escaping happens where the body is written.
fn quote(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 1_000_000;

    fn ok(strategy: Strategy, q: &str) -> Params {
        parse(strategy, Some(q), MAX).unwrap_or_else(|e| panic!("{q:?} refused: {e}"))
    }

    fn err(strategy: Strategy, q: &str) -> ParamError {
        match parse(strategy, Some(q), MAX) {
            Ok(p) => panic!("{q:?} accepted as {p:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults_and_valid_values() {
        let default = Params {
            n: MAX.min(DEFAULT_N),
            yield_every: DEFAULT_YIELD_EVERY,
        };
        for s in Strategy::ALL {
            assert_eq!(parse(s, None, MAX), Ok(default));
            assert_eq!(ok(s, ""), default);
            assert_eq!(ok(s, "&&"), default);
            assert_eq!(ok(s, "n=0").n, 0);
            assert_eq!(ok(s, "n=1000000").n, MAX);
            assert_eq!(ok(s, "n=007").n, 7);
            assert_eq!(ok(s, "%6E=%31%30").n, 10, "percent-encoded name and value");
        }
        assert_eq!(
            parse(Strategy::Cycle, None, u64::MAX).map(|p| p.n),
            Ok(DEFAULT_N)
        );
        let p = ok(Strategy::CycleSleep, "yield_every=3&n=9");
        assert_eq!((p.n, p.yield_every.get()), (9, 3));
    }

    #[test]
    fn each_bad_input_names_its_parameter_and_reason() {
        let cases = [
            (Strategy::Cycle, "n=abc", "n", "not_a_number"),
            (Strategy::Cycle, "n=", "n", "not_a_number"),
            (Strategy::Cycle, "n", "n", "not_a_number"),
            (Strategy::Cycle, "n=1.5", "n", "not_a_number"),
            (Strategy::Cycle, "n=1e7", "n", "not_a_number"),
            (Strategy::Cycle, "n=+5", "n", "not_a_number"),
            (Strategy::Cycle, "n=%20", "n", "not_a_number"),
            (Strategy::Cycle, "n=-", "n", "not_a_number"),
            (Strategy::Cycle, "n=-5", "n", "negative"),
            (Strategy::Cycle, "n=1000001", "n", "above_maximum"),
            (
                Strategy::Cycle,
                "n=99999999999999999999999999",
                "n",
                "above_maximum",
            ),
            (Strategy::Cycle, "n=1&n=2", "n", "repeated_parameter"),
            (Strategy::Cycle, "m=1", "m", "unknown_parameter"),
            (
                Strategy::Cycle,
                "yield_every=5",
                "yield_every",
                "unknown_parameter",
            ),
            (Strategy::CycleSleep, "yield_every=0", "yield_every", "zero"),
            (
                Strategy::CycleSleep,
                "yield_every=-1",
                "yield_every",
                "negative",
            ),
            (
                Strategy::CycleSleep,
                "yield_every=x",
                "yield_every",
                "not_a_number",
            ),
            (
                Strategy::CycleSleep,
                "yield_every=1&yield_every=1",
                "yield_every",
                "repeated_parameter",
            ),
            (Strategy::Thread, "N=1", "N", "unknown_parameter"),
        ];
        for (strategy, q, param, reason) in cases {
            let e = err(strategy, q);
            assert_eq!(
                (e.parameter(), e.reason()),
                (param, reason),
                "{strategy} {q:?}: {e}"
            );
            assert!(e.to_string().contains(param), "{e}");
        }
    }

    #[test]
    fn every_parameter_of_every_strategy_has_a_rule_that_parse_enforces() {
        for s in Strategy::ALL {
            for name in s.parameters() {
                let r = rule(name, MAX).unwrap_or_else(|| panic!("{s}: no rule for {name}"));
                assert_eq!(r.name, *name);
                assert!(r.minimum <= r.default && r.default <= r.maximum, "{r:?}");
                let at = |v: u64| parse(s, Some(&format!("{name}={v}")), MAX);
                assert!(at(r.minimum).is_ok() && at(r.maximum).is_ok(), "{s} {r:?}");
                if let Some(below) = r.minimum.checked_sub(1) {
                    assert!(at(below).is_err(), "{s} {r:?}");
                }
                if let Some(above) = r.maximum.checked_add(1) {
                    assert!(at(above).is_err(), "{s} {r:?}");
                }
            }
        }
        assert_eq!(rule("n", 5).map(|r| (r.maximum, r.default)), Some((5, 5)));
        assert_eq!(rule("nope", 5), None);
    }

    #[test]
    fn wait_parameter() {
        assert_eq!(parse_wait(None), Ok(false));
        assert_eq!(parse_wait(Some("wait=true")), Ok(true));
        assert_eq!(parse_wait(Some("wait=false")), Ok(false));
        for (q, reason) in [
            ("wait=yes", "not_a_boolean"),
            ("wait=", "not_a_boolean"),
            ("wait=true&wait=true", "repeated_parameter"),
            ("n=1", "unknown_parameter"),
        ] {
            assert_eq!(
                parse_wait(Some(q)).map_err(|e| e.reason()),
                Err(reason),
                "{q}"
            );
        }
    }

    #[test]
    fn quotes_are_bounded() {
        let long = "x".repeat(10_000);
        let e = err(Strategy::Cycle, &format!("n={long}"));
        assert!(e.to_string().len() < 200, "{e}");
        let e = err(Strategy::Cycle, &format!("{long}=1"));
        assert!(e.parameter().chars().count() <= MAX_QUOTED + 1);
    }

    #[test]
    fn invalid_utf8_is_not_a_number_not_a_panic() {
        let e = err(Strategy::Cycle, "n=%FF%FE");
        assert_eq!(e.reason(), "not_a_number");
    }
}

#[cfg(test)]
mod properties {
    use super::{REASONS, parse, parse_wait};
    use crate::strategy::Strategy as S;
    use proptest::prelude::*;

    proptest! {
        /// Any query string: no panic; either parameters within the limits or a known reason
        /// naming a parameter.
        #[test]
        fn any_query_parses_or_names_its_fault(query in ".{0,80}", max_n in 0u64..1_000_000, which in 0usize..S::ALL.len()) {
            let strategy = S::ALL[which];
            match parse(strategy, Some(&query), max_n) {
                Ok(p) => prop_assert!(p.n <= max_n),
                Err(e) => {
                    prop_assert!(REASONS.contains(&e.reason()), "{}", e.reason());
                    prop_assert!(!e.parameter().is_empty() || e.reason() == "unknown_parameter");
                    prop_assert!(e.to_string().len() < 400);
                }
            }
            let _ = parse_wait(Some(&query));
        }

        /// Every n up to the maximum round-trips; every n above it is refused as above_maximum.
        #[test]
        fn n_round_trips_up_to_the_maximum(n in any::<u64>(), max_n in any::<u64>()) {
            let got = parse(S::Cycle, Some(&format!("n={n}")), max_n);
            if n <= max_n {
                prop_assert_eq!(got.map(|p| p.n), Ok(n));
            } else {
                prop_assert_eq!(got.map_err(|e| e.reason()), Err("above_maximum"));
            }
        }
    }
}
