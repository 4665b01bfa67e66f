//! The pure decisions of the firewalld delegate: from what is wanted, what Firewalld has open
//! now and what Khutulun recorded as its own, which layers to open or close and which Khutulun
//! owns afterwards. Nothing here talks to Firewalld, so every case is a row of a table test.

use super::record::{Layers, Opening};

/// What to do to reach the wanted openings, and who owns what afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenPlan {
    /// The layers to open now.
    pub open: Layers,
    /// The layers to close now (Khutulun's own, no longer wanted).
    pub close: Layers,
    /// The layers Khutulun owns once done: what it opens now, and what it opened before and
    /// still wants. An opening that was there before Khutulun's is never owned.
    pub owned: Layers,
}

/// One layer of [`open_plan`]: (open it, close it, own it).
fn open_layer(wanted: bool, open_now: bool, ours: bool) -> (bool, bool, bool) {
    match (wanted, open_now, ours) {
        // Not wanted: Khutulun's own opening goes, anyone else's stays.
        (false, now, ours) => (false, now && ours, false),
        // Open already: Khutulun's if it recorded it (a restart, a retry), else the admin's.
        (true, true, ours) => (false, false, ours),
        // Closed (never opened, or gone with a reload): Khutulun opens it and owns it.
        (true, false, _) => (true, false, true),
    }
}

/// Plans opening the `wanted` layers when `open_now` are open in Firewalld and Khutulun's
/// record says `ours` are its own.
pub fn open_plan(wanted: Layers, open_now: Layers, ours: Layers) -> OpenPlan {
    let (open_runtime, close_runtime, own_runtime) =
        open_layer(wanted.runtime, open_now.runtime, ours.runtime);
    let (open_permanent, close_permanent, own_permanent) =
        open_layer(wanted.permanent, open_now.permanent, ours.permanent);
    OpenPlan {
        open: Layers {
            runtime: open_runtime,
            permanent: open_permanent,
        },
        close: Layers {
            runtime: close_runtime,
            permanent: close_permanent,
        },
        owned: Layers {
            runtime: own_runtime,
            permanent: own_permanent,
        },
    }
}

/// The layers to close on delete: those Khutulun owns that are still open. Anything else
/// (the administrator's opening, one already gone) is left alone.
pub fn close_plan(ours: Layers, open_now: Layers) -> Layers {
    Layers {
        runtime: ours.runtime && open_now.runtime,
        permanent: ours.permanent && open_now.permanent,
    }
}

/// The wanted layers that are not open now (whoever opened them): empty when the port is
/// exposed as asked.
pub fn missing(wanted: Layers, open_now: Layers) -> Layers {
    Layers {
        runtime: wanted.runtime && !open_now.runtime,
        permanent: wanted.permanent && !open_now.permanent,
    }
}

/// What Khutulun knows it opened, from its record and from the instance's attributes (either
/// may be missing: a record lost with its directory, attributes not written before a crash or
/// not passed for a leftover): one opening per zone and port, owning what either says, the
/// record's first.
pub fn merged(recorded: Option<Opening>, known: Option<Opening>) -> Vec<Opening> {
    let mut openings: Vec<Opening> = Vec::new();
    for opening in recorded.into_iter().chain(known) {
        let same = openings
            .iter_mut()
            .find(|o| o.zone == opening.zone && o.port == opening.port);
        match same {
            Some(same) => same.owned = same.owned.union(opening.owned),
            None => openings.push(opening),
        }
    }
    openings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delegates::firewalld::record::FirewallPort;
    use crate::delegates::profile::Protocol;

    const NONE: Layers = Layers {
        runtime: false,
        permanent: false,
    };
    const RUNTIME: Layers = Layers {
        runtime: true,
        permanent: false,
    };
    const PERMANENT: Layers = Layers {
        runtime: false,
        permanent: true,
    };
    const BOTH: Layers = Layers {
        runtime: true,
        permanent: true,
    };

    #[test]
    fn opening_takes_only_what_was_closed_and_keeps_what_it_owned() {
        // (wanted, open now, ours by the record) → (open, close, owned afterwards)
        let cases = [
            // A first start: nothing open, Khutulun opens and owns it.
            (RUNTIME, NONE, NONE, (RUNTIME, NONE, RUNTIME)),
            (BOTH, NONE, NONE, (BOTH, NONE, BOTH)),
            // The administrator had opened it: nothing to do, and not Khutulun's.
            (RUNTIME, RUNTIME, NONE, (NONE, NONE, NONE)),
            (BOTH, BOTH, NONE, (NONE, NONE, NONE)),
            // Permanent by the admin only: Khutulun opens the running firewall alone.
            (BOTH, PERMANENT, NONE, (RUNTIME, NONE, RUNTIME)),
            // A restart finds its own opening still there: adopted, not duplicated.
            (RUNTIME, RUNTIME, RUNTIME, (NONE, NONE, RUNTIME)),
            (BOTH, BOTH, BOTH, (NONE, NONE, BOTH)),
            // A reload dropped the running rule Khutulun owned: opened again.
            (RUNTIME, NONE, RUNTIME, (RUNTIME, NONE, RUNTIME)),
            (BOTH, PERMANENT, BOTH, (RUNTIME, NONE, BOTH)),
            // An agent died after recording and before opening: opened now.
            (BOTH, NONE, BOTH, (BOTH, NONE, BOTH)),
            // No longer permanent: Khutulun's permanent opening goes, the admin's stays.
            (RUNTIME, BOTH, BOTH, (NONE, PERMANENT, RUNTIME)),
            (RUNTIME, BOTH, RUNTIME, (NONE, NONE, RUNTIME)),
        ];
        for (wanted, now, ours, (open, close, owned)) in cases {
            assert_eq!(
                open_plan(wanted, now, ours),
                OpenPlan { open, close, owned },
                "wanted {wanted:?}, open now {now:?}, ours {ours:?}"
            );
        }
    }

    #[test]
    fn closing_removes_only_khutuluns_own_openings_still_there() {
        // (ours, open now) → close
        let cases = [
            (NONE, BOTH, NONE),
            (RUNTIME, BOTH, RUNTIME),
            (BOTH, BOTH, BOTH),
            (BOTH, PERMANENT, PERMANENT),
            (RUNTIME, NONE, NONE),
            (PERMANENT, RUNTIME, NONE),
        ];
        for (ours, now, close) in cases {
            assert_eq!(close_plan(ours, now), close, "ours {ours:?}, now {now:?}");
        }
    }

    #[test]
    fn a_port_is_exposed_when_every_wanted_layer_is_open_by_anyone() {
        assert_eq!(missing(RUNTIME, RUNTIME), NONE);
        assert_eq!(missing(RUNTIME, BOTH), NONE);
        assert_eq!(missing(BOTH, RUNTIME), PERMANENT);
        assert_eq!(missing(BOTH, PERMANENT), RUNTIME);
        assert_eq!(missing(RUNTIME, NONE), RUNTIME);
    }

    fn opening(zone: &str, number: u16, owned: Layers) -> Opening {
        Opening {
            zone: zone.into(),
            port: FirewallPort {
                number,
                protocol: Protocol::Tcp,
            },
            owned,
            wanted: BOTH,
        }
    }

    #[test]
    fn the_record_and_the_attributes_are_merged_per_zone_and_port() {
        let public = |owned| Some(opening("public", 8080, owned));
        // (record, attributes) → openings (zone, owned)
        let cases = [
            (None, None, vec![]),
            (public(RUNTIME), None, vec![("public", RUNTIME)]),
            (None, public(RUNTIME), vec![("public", RUNTIME)]),
            (public(RUNTIME), public(PERMANENT), vec![("public", BOTH)]),
            (public(NONE), public(NONE), vec![("public", NONE)]),
            (
                public(RUNTIME),
                Some(opening("work", 8080, BOTH)),
                vec![("public", RUNTIME), ("work", BOTH)],
            ),
        ];
        for (recorded, known, expected) in cases {
            let merged: Vec<(String, Layers)> = merged(recorded.clone(), known.clone())
                .into_iter()
                .map(|o| (o.zone, o.owned))
                .collect();
            let expected: Vec<(String, Layers)> = expected
                .into_iter()
                .map(|(zone, owned)| (zone.to_owned(), owned))
                .collect();
            assert_eq!(
                merged, expected,
                "record {recorded:?}, attributes {known:?}"
            );
        }
        let other_port = merged(public(RUNTIME), Some(opening("public", 9090, RUNTIME)));
        assert_eq!(other_port.len(), 2);
    }
}
