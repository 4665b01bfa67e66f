//! The reconciler's side of `service update` as a table: which outdated instance is made again
//! next (dependencies first, within the parallelism), when removed instances go, when the update
//! ends, and what a failed step leads to; and what a Service actor does with a service record
//! another host wrote.

use std::time::Duration;

use super::reconcile::{
    Decision, Effect, Goal, Instance, Observed, Outcome, Step, Updating, reconcile,
};
use super::update::{News, news};
use crate::state::records::{Health, InstanceState, OnFailure, ServiceRecord, UpdateRecord};

const NOW: Duration = Duration::from_secs(10);

/// `db`, `web` requiring it, and `old`, which the update removed; all running and just looked
/// at; `outdated` are the instances made from the old definition; `max_parallel` at once.
fn updating(outdated: &[usize], max_parallel: usize) -> Observed {
    let instances = vec![
        Instance::new("db", vec![], InstanceState::Running),
        Instance::new("web", vec![0], InstanceState::Running),
        Instance::new("old", vec![], InstanceState::Running),
    ];
    let mut seen = Observed::new(instances, false);
    for instance in &mut seen.instances {
        instance.looked_at = Some(NOW);
    }
    let update = Updating {
        max_parallel,
        rolling_back: None,
    };
    seen.set_update(update, |i| (outdated.contains(&i), i == 2));
    seen
}

fn with(mut seen: Observed, change: impl FnOnce(&mut Observed)) -> Observed {
    change(&mut seen);
    seen
}

fn decide(seen: &Observed) -> Decision {
    reconcile(Goal::Run, OnFailure::Rollback, seen, NOW)
}

fn renewed(seen: &mut Observed, index: usize, health: Option<Health>) {
    let instance = &mut seen.instances[index];
    (instance.outdated, instance.renewed, instance.health) = (false, true, health);
}

#[test]
fn an_update_decides_as_the_table_says() {
    let checks_due = Some(NOW + super::reconcile::CHECK_PERIOD);
    let cases: Vec<(&str, Observed, Vec<Effect>)> = vec![
        (
            "dependencies first, one at a time",
            updating(&[0, 1], 1),
            vec![Effect::Run(0, Step::Renew)],
        ),
        (
            "an instance waits for what it requires to be made again, whatever the parallelism",
            updating(&[0, 1], 2),
            vec![Effect::Run(0, Step::Renew)],
        ),
        (
            "two independent instances at once with a parallelism of two",
            with(updating(&[0, 1], 2), |s| s.instances[1].requires.clear()),
            vec![Effect::Run(0, Step::Renew), Effect::Run(1, Step::Renew)],
        ),
        (
            "the next once the one before is ready",
            with(updating(&[0, 1], 1), |s| renewed(s, 0, None)),
            vec![Effect::Run(1, Step::Renew)],
        ),
        (
            "not while the one before is not healthy yet",
            with(updating(&[0, 1], 1), |s| {
                renewed(s, 0, Some(Health::Unknown))
            }),
            vec![],
        ),
        (
            "removed instances go once the rest is done",
            with(updating(&[0, 1], 1), |s| {
                renewed(s, 0, None);
                renewed(s, 1, None);
            }),
            vec![Effect::Run(2, Step::Delete)],
        ),
        (
            "the update ends once they are gone",
            with(updating(&[], 1), |s| s.instances[2].gone = true),
            vec![Effect::FinishUpdate],
        ),
        (
            "once this host's part is recorded done, only the other hosts' end it",
            with(updating(&[], 1), |s| {
                s.instances[2].gone = true;
                s.part_done = true;
            }),
            vec![],
        ),
        (
            "an instance waits for one it requires on another host to be made again",
            with(updating(&[0, 1], 2), |s| {
                s.instances[1].requires.clear();
                s.instances[1].awaits = true;
            }),
            vec![Effect::Run(0, Step::Renew)],
        ),
        (
            "a failed step rolls the update back once no step is under way",
            with(updating(&[1], 1), |s| s.failure = Some("web: bad".into())),
            vec![Effect::RollBack("web: bad".into())],
        ),
        (
            "a failure while rolling back is recorded, and nothing more is done",
            with(updating(&[1], 1), |s| {
                s.failure = Some("web: worse".into());
                s.update.as_mut().unwrap().rolling_back = Some("web: bad".into());
            }),
            vec![Effect::RecordFailure {
                message: "the update failed (web: bad), and rolling it back failed too \
                          (web: worse); its instances are left as they are"
                    .into(),
                undone: false,
            }],
        ),
        (
            "nothing is decided while the update's write is under way",
            with(updating(&[0, 1], 1), |s| s.recording = true),
            vec![],
        ),
    ];
    for (name, seen, effects) in cases {
        let decision = decide(&seen);
        assert_eq!(decision.effects, effects, "{name}");
        if !seen.recording
            && decision
                .effects
                .iter()
                .all(|e| matches!(e, Effect::Run(..)))
        {
            assert!(
                decision.wake.is_none() || decision.wake == checks_due,
                "{name}"
            );
        }
    }
}

#[test]
fn an_update_runs_to_its_end_renewing_each_outdated_instance_once() {
    let mut seen = updating(&[0, 1], 1);
    let mut renewals = Vec::new();
    for _ in 0..10 {
        let decision = decide(&seen);
        for effect in &decision.effects {
            seen.began(effect);
        }
        for effect in decision.effects {
            match effect {
                Effect::Run(index, step @ (Step::Renew | Step::Delete)) => {
                    renewals.extend((step == Step::Renew).then_some(index));
                    let state = match step {
                        Step::Renew => InstanceState::Running,
                        _ => InstanceState::Deleting,
                    };
                    seen.finished(index, Outcome { state, error: None }, NOW);
                }
                Effect::FinishUpdate => seen.update_recorded(true),
                _ => {}
            }
        }
    }
    assert_eq!(renewals, [0, 1]);
    assert!(seen.update.is_none() && seen.instances[2].gone && seen.through);
}

/// A service record at instantiation `version` (its one node's `count`), with an update under
/// way (`Some`, rolled back for that reason when it has one) or none.
fn record(version: u32, update: Option<Option<&str>>) -> ServiceRecord {
    use crate::tosca::instance::{Instantiation, NodeInstance};
    let instantiation = |count: u32| Instantiation {
        nodes: vec![NodeInstance::bare("web", count)],
        ..Instantiation::default()
    };
    ServiceRecord {
        update: update.map(|why| UpdateRecord {
            previous: instantiation(version - 1),
            max_parallel: 1,
            rolling_back: why.map(str::to_owned),
            done: Default::default(),
        }),
        ..ServiceRecord::sample("shop", instantiation(version))
    }
}

#[test]
fn news_from_the_store_is_taken_as_the_table_says() {
    let cases = [
        (
            "the same record",
            record(2, Some(None)),
            record(2, Some(None)),
            false,
            News::Same,
        ),
        (
            "an update begun elsewhere",
            record(1, None),
            record(2, Some(None)),
            false,
            News::Take,
        ),
        (
            "a rollback begun elsewhere",
            record(2, Some(None)),
            record(1, Some(Some("web-1 failed"))),
            false,
            News::Take,
        ),
        (
            "the update ended elsewhere",
            record(2, Some(None)),
            record(2, None),
            false,
            News::Ended,
        ),
        (
            "an update ended and the next begun between two reads",
            record(2, Some(None)),
            record(3, Some(None)),
            false,
            News::Take,
        ),
        (
            "anything while this actor's own write is under way",
            record(2, Some(Some("web-0 failed"))),
            record(2, Some(None)),
            true,
            News::Later,
        ),
        (
            "no update, no change",
            record(2, None),
            record(2, None),
            false,
            News::Same,
        ),
    ];
    for (name, mine, theirs, recording, expected) in cases {
        assert_eq!(news(&mine, &theirs, recording), expected, "{name}");
    }
}
