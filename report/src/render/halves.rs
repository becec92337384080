//! The split-halves line at the report's top, from [`crate::analysis::claims::Halves`]: how many of
//! the run's claims its odd and its even passes both repeated, and which did not.
//!
//! A reference should publish only what a second run repeats. The two halves of one run's
//! interleaved passes are the nearest thing to a second run that every run has: a claim one of
//! them does not make is named here, and "What to do" leaves it out; claims the whole run does not
//! make either (the halves disagreed) are only counted.

use crate::analysis::Facts;
use crate::analysis::claims::{Claim, Held};
use crate::analysis::run::Run;
use crate::render::format::and_list;

/// At most this many claims that did not hold are named; the rest are counted.
const NAMED: usize = 6;

/// The line at the top of the report; nothing for a run with fewer than two passes.
pub fn markdown(f: &Facts) -> String {
    let Some(h) = &f.halves else {
        return String::new();
    };
    let made = h.claims.len();
    let held = h.held();
    let passes = |p: &[u32]| {
        let ps: Vec<String> = p.iter().map(u32::to_string).collect();
        ps.join(", ")
    };
    let head = format!(
        "> **Split halves**: {held} of the {made} claims this run makes (verdicts, comparisons of \
         runtimes and worker counts, the pool) held in both halves of its passes (odd: {}; even: {})",
        passes(&h.odd_passes),
        passes(&h.even_passes)
    );
    // Claims the run does not make are only counted: naming them would list what the report
    // does not say.
    let disputed = match h.disputed.len() {
        0 => String::new(),
        k => format!(" The halves disagreed on {k} more that this run does not make."),
    };
    if held == made {
        return format!("{head}.{disputed}\n\n");
    }
    // A pair's verdict is marked in the stall table; the others are named, grouped by the half
    // that did not make them.
    let pairs = h
        .unstable()
        .filter(|(c, _)| matches!(c, Claim::Pair { .. }))
        .count();
    let others: Vec<(&Claim, Held)> = h
        .unstable()
        .filter(|(c, _)| !matches!(c, Claim::Pair { .. }))
        .collect();
    // The halves in a fixed order: neither, then each one.
    let mut others = others;
    others.sort_by_key(|(_, held)| (held.odd, held.even));
    let groups = grouped(&f.run, others.iter().take(NAMED));
    let mut parts = Vec::new();
    if pairs > 0 {
        parts.push(format!(
            "{pairs} pair verdicts (marked † in the stall table)"
        ));
    }
    for (w, list) in &groups {
        parts.push(format!("{w}: {}", and_list(list)));
    }
    if others.len() > NAMED {
        parts.push(format!("{} more", others.len() - NAMED));
    }
    format!(
        "{head}. Of the {} that did not (What to do leaves out a bullet resting on one): \
         {}.{disputed}\n\n",
        made - held,
        parts.join("; ")
    )
}

/// The claims, grouped by the half that did not make them (in `claims`' order); within a group,
/// a strategy's claims over its pairs are said once per verdict: `` a pair stalled with
/// `/cycle_sleep` on smol ``, `` no pair stalled with `/rayon` (all; on smol) ``.
fn grouped<'a>(
    run: &Run,
    claims: impl Iterator<Item = &'a (&'a Claim, Held)>,
) -> Vec<(&'static str, Vec<String>)> {
    // Per half: the entries in order, a strategy verdict's runtimes gathered where it first came.
    type Entry = (Option<(bool, common::Strategy)>, Vec<String>);
    let mut groups: Vec<(&'static str, Vec<Entry>)> = Vec::new();
    for (c, held) in claims {
        let w = which(*held);
        let at = match groups.iter().position(|(x, _)| *x == w) {
            Some(i) => i,
            None => {
                groups.push((w, Vec::new()));
                groups.len() - 1
            }
        };
        let entries = &mut groups[at].1;
        match c {
            Claim::Strategy {
                strategy,
                target,
                stalled,
            } => {
                let on = target.clone().unwrap_or_else(|| "all".to_owned());
                let key = Some((*stalled, *strategy));
                match entries.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, ons)) => ons.push(on),
                    None => entries.push((key, vec![on])),
                }
            }
            c => entries.push((None, vec![describe(run, c)])),
        }
    }
    groups
        .into_iter()
        .map(|(w, entries)| {
            // A verdict's strategies in a row: `no pair stalled with `/rayon` (all; on smol),
            // `/bounded` on actix`.
            let mut said: Vec<String> = Vec::new();
            let mut last: Option<bool> = None;
            for (key, ons) in entries {
                let Some((stalled, strategy)) = key else {
                    said.extend(ons);
                    last = None;
                    continue;
                };
                let path = format!("`{}`", strategy.path());
                let on = match ons.as_slice() {
                    [all] if all == "all" => path,
                    [one] => format!("{path} on {one}"),
                    many => {
                        let ons: Vec<String> = many
                            .iter()
                            .map(|o| {
                                if o == "all" {
                                    o.clone()
                                } else {
                                    format!("on {o}")
                                }
                            })
                            .collect();
                        format!("{path} ({})", ons.join("; "))
                    }
                };
                if last == Some(stalled)
                    && let Some(prev) = said.last_mut()
                {
                    prev.push_str(&format!(", {on}"));
                    continue;
                }
                let verdict = if stalled {
                    "a pair stalled with"
                } else {
                    "no pair stalled with"
                };
                said.push(format!("{verdict} {on}"));
                last = Some(stalled);
            }
            (w, said)
        })
        .collect()
}

/// Which half did not make it.
fn which(held: Held) -> &'static str {
    match (held.odd, held.even) {
        (false, false) => "in neither half",
        (false, true) => "not in the odd passes",
        _ => "not in the even passes",
    }
}

/// A claim in words: `` `/thread` on smol: a pair stalled ``, `` tokio × 1 workers × /rayon kept the server answering ``.
pub fn describe(run: &Run, c: &Claim) -> String {
    let answering = |stalled: bool| {
        if stalled {
            "stalled the server"
        } else {
            "kept the server answering"
        }
    };
    match c {
        Claim::Pair { key, stalled } => format!("{key} {}", answering(*stalled)),
        Claim::Strategy {
            strategy,
            target,
            stalled,
        } => {
            let on = target
                .as_ref()
                .map(|t| format!(" on {t}"))
                .unwrap_or_default();
            let said = if *stalled {
                "a pair stalled"
            } else {
                "no pair stalled"
            };
            format!("`{}`{on}: {said}", strategy.path())
        }
        Claim::Recommended(s) => format!("the pool recommended, `{}`", s.path()),
        Claim::Runtimes {
            strategy,
            workers,
            apart,
        } => {
            let with = format!("`{}` with {}", strategy.path(), run.workers_label(*workers));
            match apart {
                None => format!("{with}: the runtimes alike"),
                Some((fast, slow)) => format!("{with}: {fast} fastest, {slow} slowest"),
            }
        }
        Claim::Workers {
            target,
            strategy,
            faster,
        } => format!(
            "more workers made `{}` on {target} {}",
            strategy.path(),
            if *faster { "faster" } else { "slower" }
        ),
    }
}
