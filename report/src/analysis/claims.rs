//! The claims a run makes, and which of them its two halves repeat.
//!
//! A claim is a statement a reader takes away, in a form another set of rounds can be checked
//! against: this pair stalled the server; this strategy kept it answering on every pair; What
//! to do recommends this pool; with this strategy the runtimes' work times were alike, or
//! this one was the fastest and that one the slowest; more workers made this pair faster.
//! What the noise rules leave open (a borderline pair, a difference not settled) is no claim,
//! and neither is two worker counts alike within the margin (see [`of`]).
//!
//! [`Halves::of`] runs the analysis again on the odd passes and on the even ones
//! ([`super::halves`]): a claim *held* when both halves make it too. One that did not is
//! unstable: "What to do" leaves it out, and the report's top says how many held.

use std::collections::BTreeMap;

use common::Strategy;

use crate::analysis::noise::{self, Change, Spread};
use crate::analysis::{Facts, Responsiveness};
use crate::data::{PairKey, Results};

/// One thing a run says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Claim {
    /// The pair stalled the server (`stalled`), or kept it answering.
    Pair {
        /// The pair.
        key: PairKey,
        /// Stalled, or kept answering.
        stalled: bool,
    },
    /// Over its pairs (all of them, or one runtime's): the strategy stalled the server in at
    /// least one (`stalled`), or kept it answering in every one.
    Strategy {
        /// The strategy.
        strategy: Strategy,
        /// One runtime's pairs only; `None`: all.
        target: Option<String>,
        /// Stalled in some pair, or kept answering in all.
        stalled: bool,
    },
    /// "What to do" recommends this pool.
    Recommended(Strategy),
    /// With the strategy, at one worker count, the runtimes' work efficiencies were alike within
    /// [`crate::analysis::ALIKE`] (`apart` is `None`), or apart, with the best and the worst
    /// named ([`Facts::runtimes`]).
    Runtimes {
        /// The strategy.
        strategy: Strategy,
        /// The worker count.
        workers: Option<u32>,
        /// The runtime nearest the ideal and the one furthest from it, when apart.
        apart: Option<(String, String)>,
    },
    /// The most workers made the pair's work time shorter (`faster`) or longer than the fewest.
    Workers {
        /// The runtime.
        target: String,
        /// The strategy.
        strategy: Strategy,
        /// Shorter, or longer.
        faster: bool,
    },
}

/// Every claim `f` (the facts of `r`) makes, in order.
pub fn of(r: &Results, f: &Facts) -> Vec<Claim> {
    let mut out = Vec::new();
    for v in &f.verdicts {
        match v.class {
            Responsiveness::Stalled => out.push(Claim::Pair {
                key: v.key.clone(),
                stalled: true,
            }),
            Responsiveness::Responsive => out.push(Claim::Pair {
                key: v.key.clone(),
                stalled: false,
            }),
            Responsiveness::Borderline => {}
        }
    }
    let targets = r.targets();
    for s in r.strategies() {
        out.extend(strategy(f, s, None));
        for (t, _) in &targets {
            out.extend(strategy(f, s, Some(t)));
        }
    }
    out.extend(f.recommended().map(Claim::Recommended));
    for s in r.strategies() {
        for w in r.worker_counts() {
            let Some(x) = f.runtimes(s, w) else {
                continue;
            };
            let apart = match x.spread {
                Spread::Alike => None,
                Spread::Apart => Some((x.best.0, x.worst.0)),
                Spread::Unclear => continue,
            };
            out.push(Claim::Runtimes {
                strategy: s,
                workers: w,
                apart,
            });
        }
    }
    if let Some(sp) = &f.speedups {
        for x in &sp.ratios {
            let faster = match x.change {
                Change::Lower => true,
                Change::Higher => false,
                // Alike within the margin is said in Findings but is no claim checked here:
                // a half's three rounds can rarely vouch for it under the machine's drift.
                Change::Alike | Change::Unclear => continue,
            };
            out.push(Claim::Workers {
                target: x.target.clone(),
                strategy: x.strategy,
                faster,
            });
        }
    }
    out
}

/// What `f` claims of strategy `s` over its pairs, all of them or `target`'s only: that it
/// stalled the server in some pair, or kept it answering in every one; `None` when neither
/// (borderline pairs and none stalled) or without pairs.
pub fn strategy(f: &Facts, s: Strategy, target: Option<&str>) -> Option<Claim> {
    let tally = f.tally(|v| v.key.strategy == s && target.is_none_or(|t| t == v.key.target));
    if tally.pairs() == 0 {
        return None;
    }
    let stalled = tally.stalled > 0;
    (stalled || tally.all_responsive()).then(|| Claim::Strategy {
        strategy: s,
        target: target.map(str::to_owned),
        stalled,
    })
}

/// Whether each half of the passes made a claim too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// The odd passes made it.
    pub odd: bool,
    /// The even passes made it.
    pub even: bool,
}

impl Held {
    /// Both halves made it.
    pub fn both(self) -> bool {
        self.odd && self.even
    }
}

/// The run's claims, each with whether its halves repeated it.
#[derive(Debug, Clone, PartialEq)]
pub struct Halves {
    /// The odd passes.
    pub odd_passes: Vec<u32>,
    /// The even passes.
    pub even_passes: Vec<u32>,
    /// Every claim of the whole run.
    pub claims: BTreeMap<Claim, Held>,
    /// Claims one half made and the other did not, which the whole run does not make either:
    /// how much a second run could move where this one says nothing (a borderline pair, say).
    pub disputed: Vec<Claim>,
}

impl Halves {
    /// The claims of `whole` (the facts of `r`) checked against the facts of each half of
    /// `r`'s passes; `None` when a half would have fewer than [`noise::MIN_ROUNDS`] passes
    /// (a run of fewer than 4): a half of one round calls no difference at all, so it could
    /// not repeat a comparison, however clear.
    pub fn of(r: &Results, whole: &Facts) -> Option<Halves> {
        if super::halves::passes(r).len() < 2 * noise::MIN_ROUNDS {
            return None;
        }
        let halves = super::halves::Half::BOTH.map(|h| super::halves::split(r, h));
        let [Some(odd), Some(even)] = halves else {
            return None;
        };
        let said = |h: &Results| of(h, &Facts::compute(h));
        let (in_odd, in_even) = (said(&odd), said(&even));
        let made = of(r, whole);
        let disputed = in_odd
            .iter()
            .filter(|c| !in_even.contains(c))
            .chain(in_even.iter().filter(|c| !in_odd.contains(c)))
            .filter(|c| !made.contains(c))
            .cloned()
            .collect();
        let claims = made
            .into_iter()
            .map(|c| {
                let held = Held {
                    odd: in_odd.contains(&c),
                    even: in_even.contains(&c),
                };
                (c, held)
            })
            .collect();
        let passes = |h: &Results| super::halves::passes(h);
        Some(Halves {
            odd_passes: passes(&odd),
            even_passes: passes(&even),
            claims,
            disputed,
        })
    }

    /// How many claims held in both halves.
    pub fn held(&self) -> usize {
        self.claims.values().filter(|h| h.both()).count()
    }

    /// The claims one half or both did not make, in order.
    pub fn unstable(&self) -> impl Iterator<Item = (&Claim, Held)> {
        self.claims
            .iter()
            .filter(|(_, h)| !h.both())
            .map(|(c, h)| (c, *h))
    }

    /// Whether `c` held in both halves; a claim the run does not make did not.
    pub fn stable(&self, c: &Claim) -> bool {
        self.claims.get(c).is_some_and(|h| h.both())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fake::{Pair, results};

    fn whole(pairs: &[Pair]) -> (Results, Facts) {
        let r = results(pairs);
        let f = Facts::of(&r);
        (r, f)
    }

    #[test]
    fn a_pair_stalled_in_one_half_only_is_unstable() {
        // Rounds 1 and 3 (odd passes) stalled, 2 and 4 under T1: the whole run is borderline
        // (no claim); with the pooled p99 over T1 and every round too, stalled in both.
        let (_, f) = whole(&[
            Pair::new("a", 1, Strategy::Cycle, &[40.0; 4]).probes(30.0, &[30.0, 31.0, 32.0, 33.0]),
            Pair::new("b", 1, Strategy::Cycle, &[40.0; 4]).probes(12.0, &[12.0, 3.0, 12.0, 3.0]),
        ]);
        let h = f.halves.as_ref().expect("four passes");
        let a = Claim::Pair {
            key: f.verdicts[0].key.clone(),
            stalled: true,
        };
        assert!(h.stable(&a));
        // b is borderline as a whole: no claim, so nothing to hold.
        assert!(
            !h.claims
                .keys()
                .any(|c| matches!(c, Claim::Pair { key, .. } if key.target == "b"))
        );
        // Over both targets the strategy stalled some pair: held in both halves (a did).
        assert!(h.stable(&Claim::Strategy {
            strategy: Strategy::Cycle,
            target: None,
            stalled: true
        }));
    }

    #[test]
    fn a_runtime_difference_one_half_does_not_show_is_unstable() {
        // a faster than b in the odd passes, alike in the even: the whole run's ranges are
        // disjoint (a 10–12 ms, b 14.5–16 ms) only because of the odd passes' b.
        let (_, f) = whole(&[
            Pair::new("a", 1, Strategy::Rayon, &[10.0, 12.0, 10.0, 12.0]),
            Pair::new("b", 1, Strategy::Rayon, &[16.0, 14.5, 16.0, 14.5]),
            Pair::new("c", 1, Strategy::Thread, &[10.0, 10.5, 10.0, 10.5]),
            Pair::new("d", 1, Strategy::Thread, &[20.0, 10.6, 20.0, 10.6]),
        ]);
        let h = f.halves.as_ref().expect("four passes");
        let apart = |s| Claim::Runtimes {
            strategy: s,
            workers: Some(1),
            apart: Some(("a".to_owned(), "b".to_owned())),
        };
        assert!(h.stable(&apart(Strategy::Rayon)));
        // c and d: apart as a whole (d's mean 15.3 ms; its rounds 10.6–20 ms, c's 10–10.5),
        // but the even passes have d at 10.6 ms: not apart there.
        let cd = Claim::Runtimes {
            strategy: Strategy::Thread,
            workers: Some(1),
            apart: Some(("c".to_owned(), "d".to_owned())),
        };
        assert_eq!(
            h.claims.get(&cd).map(|x| (x.odd, x.even)),
            Some((true, false))
        );
        assert!(!h.stable(&cd));
        assert_eq!(h.held() + h.unstable().count(), h.claims.len());
    }

    #[test]
    fn fewer_than_four_passes_have_no_halves() {
        for rounds in [&[10.0][..], &[10.0, 11.0, 12.0]] {
            let (_, f) = whole(&[Pair::new("a", 1, Strategy::Rayon, rounds)]);
            assert!(f.halves.is_none());
        }
        let (_, f) = whole(&[Pair::new("a", 1, Strategy::Rayon, &[10.0; 4])]);
        assert!(f.halves.is_some());
    }
}
