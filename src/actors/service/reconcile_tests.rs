//! The reconciler as a table: a service as seen, what is asked, and what must happen next.

use std::time::Duration;

use super::reconcile::{
    CHECK_PERIOD, Decision, Effect, Goal, Instance, Observed, Outcome, Step, Wanted, reconcile,
};
use crate::state::records::{Health, InstanceState, OnFailure};

use InstanceState::{Creating, Deleting, Failed, Pending, Running, Stopped};

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Three instances: `port` and `dir` require nothing, `web` requires both.
fn web(states: [InstanceState; 3], resume: bool) -> Observed {
    let instances = vec![
        Instance::new("port", vec![], states[0]),
        Instance::new("dir", vec![], states[1]),
        Instance::new("web", vec![0, 1], states[2]),
    ];
    Observed::new(instances, resume)
}

fn with(mut seen: Observed, change: impl FnOnce(&mut Observed)) -> Observed {
    change(&mut seen);
    seen
}

fn busy(seen: &mut Observed, index: usize, step: Step) {
    seen.instances[index].busy = Some((step, seen.generation));
}

fn looked_at(seen: &mut Observed, at: Duration) {
    for instance in &mut seen.instances {
        instance.looked_at = Some(at);
    }
}

fn runs(effects: &[(usize, Step)]) -> Vec<Effect> {
    effects
        .iter()
        .map(|&(i, step)| Effect::Run(i, step))
        .collect()
}

struct Case {
    name: &'static str,
    goal: Goal,
    on_failure: OnFailure,
    seen: Observed,
    now: Duration,
    effects: Vec<Effect>,
    wake: Option<Duration>,
}

fn case(name: &'static str, seen: Observed, effects: Vec<Effect>) -> Case {
    Case {
        name,
        goal: Goal::Run,
        on_failure: OnFailure::Rollback,
        seen,
        now: secs(10),
        effects,
        wake: None,
    }
}

fn failed_deploy(seen: Observed) -> Observed {
    with(seen, |s| s.failure = Some("web-0: it crashed".into()))
}

fn cases() -> Vec<Case> {
    let fresh = web([Pending; 3], false);
    let resumed = web([Running, Running, Pending], true);
    let running = with(web([Running; 3], false), |s| looked_at(s, secs(9)));
    vec![
        case(
            "a new service deploys what requires nothing, all at once",
            fresh.clone(),
            runs(&[(0, Step::Deploy), (1, Step::Deploy)]),
        ),
        case(
            "an instance waits while a requirement deploys, and nothing is checked meanwhile",
            with(web([Running, Pending, Pending], false), |s| {
                busy(s, 1, Step::Deploy)
            }),
            vec![],
        ),
        case(
            "an instance deploys once its requirements run",
            with(web([Running, Running, Pending], false), |s| {
                looked_at(s, secs(9))
            }),
            runs(&[(2, Step::Deploy)]),
        ),
        case(
            "an instance waits for one it requires on another host, and does not hold checks",
            with(web([Running, Running, Pending], false), |s| {
                looked_at(s, secs(8));
                s.instances[2].awaits = true;
            }),
            runs(&[(0, Step::Check), (1, Step::Check)]),
        ),
        case(
            "a running instance whose wiring is stale is made again instead of checked",
            with(running.clone(), |s| {
                looked_at(s, secs(8));
                s.instances[2].stale = true;
            }),
            runs(&[(0, Step::Check), (1, Step::Check), (2, Step::Replace)]),
        ),
        Case {
            wake: Some(secs(11)),
            ..case(
                "a stopped instance is not made again for a stale wiring",
                with(web([Running, Running, Stopped], false), |s| {
                    looked_at(s, secs(9));
                    s.instances[2].wanted = Wanted::Stopped;
                    s.instances[2].stale = true;
                }),
                vec![],
            )
        },
        case(
            "after a restart, running instances are adopted before their dependents deploy",
            resumed.clone(),
            runs(&[(0, Step::Adopt), (1, Step::Adopt)]),
        ),
        case(
            "an instance left creating by a dead agent is made again",
            with(web([Running, Running, Creating], true), |s| {
                s.instances[0].adopted = 1;
                s.instances[1].adopted = 1;
                looked_at(s, secs(9));
            }),
            runs(&[(2, Step::Deploy)]),
        ),
        case(
            "a dependent waits for its requirements' adoption",
            with(resumed.clone(), |s| busy(s, 0, Step::Adopt)),
            runs(&[(1, Step::Adopt)]),
        ),
        case(
            "a running instance is checked when its period is over",
            with(web([Running; 3], false), |s| looked_at(s, secs(8))),
            runs(&[(0, Step::Check), (1, Step::Check), (2, Step::Check)]),
        ),
        case(
            "checks a little early join the batch due now",
            with(running.clone(), |s| s.instances[2].looked_at = Some(secs(7))),
            runs(&[(0, Step::Check), (1, Step::Check), (2, Step::Check)]),
        )
        .at(secs(9) + CHECK_PERIOD - ms(400)),
        case(
            "nothing is due: wake when the first check is",
            with(running.clone(), |s| s.instances[1].looked_at = Some(secs(8) + ms(600))),
            vec![],
        )
        .waking(secs(10) + ms(600)),
        case(
            "a failed instance is still checked (its supervisor may restart it)",
            with(web([Running, Running, Failed], false), |s| {
                looked_at(s, secs(9));
                s.instances[2].looked_at = Some(secs(5));
            }),
            runs(&[(2, Step::Check)]),
        )
        .waking(secs(11)),
        case(
            "a pending instance whose requirement failed abandons the deploy",
            web([Failed, Running, Pending], false),
            vec![Effect::Abandon(
                "web: it requires port, which failed".into(),
            )],
        ),
        case(
            "a failed deploy waits for the steps in flight",
            failed_deploy(with(web([Running, Pending, Failed], false), |s| {
                busy(s, 1, Step::Deploy)
            })),
            vec![],
        ),
        case(
            "a failed deploy is rolled back dependents first",
            failed_deploy(web([Running, Running, Failed], false)),
            runs(&[(2, Step::Delete)]),
        ),
        case(
            "then its requirements, leaving what was never made",
            failed_deploy(with(web([Running, Pending, Deleting], false), |s| {
                s.instances[2].gone = true
            })),
            runs(&[(0, Step::Delete)]),
        ),
        case(
            "once nothing it made is left, the failure is recorded as undone",
            failed_deploy(with(web([Deleting, Pending, Deleting], false), |s| {
                s.instances[0].gone = true;
                s.instances[2].gone = true;
            })),
            vec![Effect::RecordFailure {
                message: "web-0: it crashed; what the deploy made was removed".into(),
                undone: true,
            }],
        ),
        case(
            "an undo that failed is recorded as such, and nothing more is deleted",
            failed_deploy(with(web([Running, Running, Failed], false), |s| {
                s.undo_failure = Some("web-0: busy".into())
            })),
            vec![Effect::RecordFailure {
                message: "web-0: it crashed; undoing it failed too (web-0: busy), what is left stays as it is".into(),
                undone: true,
            }],
        ),
        Case {
            on_failure: OnFailure::Keep,
            ..case(
                "a service that keeps its failures records it at once",
                failed_deploy(web([Running, Running, Failed], false)),
                vec![Effect::RecordFailure {
                    message: "web-0: it crashed; its instances are left as they are".into(),
                    undone: false,
                }],
            )
        },
        case(
            "a stop takes dependents first",
            with(running.clone(), |s| {
                (0..3).for_each(|i| s.want(i, Wanted::Stopped));
            }),
            runs(&[(2, Step::Stop)]),
        ),
        case(
            "a stopped instance is neither checked nor started",
            with(web([Running, Running, Stopped], false), |s| looked_at(s, secs(9))),
            vec![],
        )
        .waking(secs(11)),
        case(
            "a stopped instance asked to run starts once its requirements run",
            with(web([Running, Running, Stopped], false), |s| {
                looked_at(s, secs(9));
                s.want(2, Wanted::Running);
            }),
            runs(&[(2, Step::Start)]),
        )
        .waking(secs(11)),
        case(
            "an instance held back by a stopped requirement does not hold back checks",
            with(web([Running, Stopped, Pending], false), |s| looked_at(s, secs(8))),
            runs(&[(0, Step::Check)]),
        ),
        case(
            "a failed service does nothing until it is deleted",
            with(web([Running, Running, Failed], false), |s| s.failed = true),
            vec![],
        ),
        case(
            "delete removes dependents first",
            web([Deleting; 3], false),
            runs(&[(2, Step::Delete)]),
        )
        .deleting(),
        case(
            "delete waits for a dependent's step in flight",
            with(web([Running; 3], false), |s| busy(s, 2, Step::Check)),
            vec![],
        )
        .deleting(),
        case(
            "a failed delete is tried again after its wait",
            with(web([Deleting, Deleting, Failed], false), |s| {
                s.instances[2].retry = Some((2, secs(12)))
            }),
            vec![],
        )
        .deleting()
        .waking(secs(12)),
        case(
            "when every instance is gone, the records go",
            with(web([Deleting; 3], false), |s| {
                s.instances.iter_mut().for_each(|i| i.gone = true)
            }),
            vec![Effect::Remove],
        )
        .deleting(),
        case(
            "a removal that failed is tried again later",
            with(web([Deleting; 3], false), |s| {
                s.instances.iter_mut().for_each(|i| i.gone = true);
                s.remove_after = Some(secs(15));
            }),
            vec![],
        )
        .deleting()
        .waking(secs(15)),
        case(
            "a load balancer whose backends moved is only checked (it reloads)",
            with(web([Running; 3], false), |s| {
                s.instances[2].stale = true;
                s.instances[2].rewires = true;
                looked_at(s, secs(9));
            }),
            vec![],
        )
        .waking(secs(11)),
        case(
            "a dependent waits while what it requires runs but is not yet healthy",
            with(web([Running, Running, Pending], false), |s| {
                s.instances[0].health = Some(Health::Unknown);
                looked_at(s, secs(9));
            }),
            vec![],
        ),
        case(
            "a dependent is deployed once what it requires is healthy",
            with(web([Running, Running, Pending], false), |s| {
                s.instances[0].health = Some(Health::Healthy);
                looked_at(s, secs(9));
            }),
            runs(&[(2, Step::Deploy)]),
        ),
        case(
            "a service with nothing on this host is removed at once",
            Observed::new(vec![], false),
            vec![Effect::Remove],
        )
        .deleting(),
    ]
}

impl Case {
    fn at(self, now: Duration) -> Self {
        Case { now, ..self }
    }

    fn waking(self, at: Duration) -> Self {
        Case {
            wake: Some(at),
            ..self
        }
    }

    fn deleting(self) -> Self {
        Case {
            goal: Goal::Delete,
            ..self
        }
    }
}

#[test]
fn reconcile_decides_what_each_case_needs() {
    for case in cases() {
        let decision = reconcile(case.goal, case.on_failure, &case.seen, case.now);
        let expected = Decision {
            effects: case.effects,
            wake: case.wake,
        };
        assert_eq!(decision, expected, "{}", case.name);
    }
}

#[test]
fn a_deploy_runs_to_the_end_when_every_step_succeeds() {
    let mut seen = web([Pending; 3], false);
    let mut now = Duration::ZERO;
    for _ in 0..10 {
        let decision = reconcile(Goal::Run, OnFailure::Rollback, &seen, now);
        for effect in &decision.effects {
            seen.began(effect);
        }
        for effect in decision.effects {
            if let Effect::Run(index, Step::Deploy) = effect {
                let outcome = Outcome {
                    state: Running,
                    error: None,
                };
                seen.finished(index, outcome, now);
            }
        }
        now += secs(1);
    }
    assert!(seen.instances.iter().all(|i| i.state == Running));
    assert!(seen.failure.is_none());
}

#[test]
fn a_failed_deploy_step_fails_the_deploy_once() {
    let mut seen = with(web([Pending; 3], false), |s| busy(s, 0, Step::Deploy));
    let failed = |error: &str| Outcome {
        state: Failed,
        error: Some(error.into()),
    };
    seen.finished(0, failed("no port left"), secs(1));
    assert_eq!(seen.failure.as_deref(), Some("no port left"));
    busy(&mut seen, 1, Step::Deploy);
    seen.finished(1, failed("no room"), secs(2));
    assert_eq!(seen.failure.as_deref(), Some("no port left"));
}

#[test]
fn a_deploy_step_failing_after_the_service_was_through_is_tried_again_not_rolled_back() {
    // A failover moved `web` here; its host cannot start it yet.
    let mut seen = with(web([Running, Running, Pending], true), |s| {
        busy(s, 2, Step::Deploy);
    });
    let failed = Outcome {
        state: Failed,
        error: Some("the start failed".into()),
    };
    seen.finished(2, failed, secs(10));
    assert!(seen.failure.is_none(), "the service is not failed");
    let soon = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(10));
    assert!(!soon.effects.contains(&Effect::Run(2, Step::Deploy)));
    assert_eq!(soon.wake, Some(secs(11)));
    let later = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(11));
    assert!(
        later.effects.contains(&Effect::Run(2, Step::Deploy)),
        "{later:?}"
    );
    busy(&mut seen, 2, Step::Deploy);
    let made = Outcome {
        state: Running,
        error: None,
    };
    seen.finished(2, made, secs(12));
    assert!(seen.instances[2].retry.is_none() && seen.failure.is_none());
}

#[test]
fn failed_deletes_wait_longer_each_time() {
    let mut seen = web([Deleting; 3], false);
    let mut waits = Vec::new();
    for attempt in 0..8 {
        let now = secs(100 * attempt);
        busy(&mut seen, 2, Step::Delete);
        let outcome = Outcome {
            state: Failed,
            error: Some("busy".into()),
        };
        seen.finished(2, outcome, now);
        let (_, at) = seen.instances[2].retry.unwrap();
        waits.push((at - now).as_secs());
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
    busy(&mut seen, 2, Step::Delete);
    let done = Outcome {
        state: Deleting,
        error: None,
    };
    seen.finished(2, done, secs(900));
    assert!(seen.instances[2].gone && seen.instances[2].retry.is_none());
}

#[test]
fn adoption_is_asked_again_when_the_delegates_restart() {
    let mut seen = with(web([Running; 3], false), |s| looked_at(s, secs(9)));
    assert!(
        reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(10))
            .effects
            .is_empty()
    );
    seen.readopt(|_| true);
    let decision = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(10));
    assert_eq!(
        decision.effects,
        runs(&[(0, Step::Adopt), (1, Step::Adopt)])
    );
    // A step that began before the restart does not count as an adoption.
    let mut seen = with(web([Running; 3], false), |s| busy(s, 0, Step::Deploy));
    seen.readopt(|_| true);
    let ok = Outcome {
        state: Running,
        error: None,
    };
    seen.finished(0, ok, secs(1));
    let decision = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(1));
    assert!(decision.effects.contains(&Effect::Run(0, Step::Adopt)));
}

#[test]
fn only_the_instances_of_a_restarted_delegate_are_adopted_again() {
    let mut seen = with(web([Running; 3], false), |s| looked_at(s, secs(9)));
    seen.readopt(|i| i == 2);
    let decision = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(10));
    assert_eq!(decision.effects, runs(&[(2, Step::Adopt)]));
    // A step under way on another instance still counts as its adoption when it ends.
    let mut seen = with(web([Running; 3], false), |s| busy(s, 0, Step::Deploy));
    seen.readopt(|i| i != 0);
    let ok = Outcome {
        state: Running,
        error: None,
    };
    seen.finished(0, ok, secs(1));
    let decision = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(1));
    assert!(!decision.effects.contains(&Effect::Run(0, Step::Adopt)));
    assert!(decision.effects.contains(&Effect::Run(1, Step::Adopt)));
}

#[test]
fn a_restart_stops_then_starts_and_is_settled_only_then() {
    let mut seen = with(web([Running; 3], false), |s| looked_at(s, secs(9)));
    let ok = |state| Outcome { state, error: None };
    seen.want(2, Wanted::Restarted);
    assert_eq!(seen.settled(2, Wanted::Restarted), Ok(false));
    let decision = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(10));
    assert_eq!(decision.effects, runs(&[(2, Step::Stop)]));
    seen.began(&decision.effects[0]);
    seen.finished(2, ok(Stopped), secs(10));
    assert_eq!(seen.settled(2, Wanted::Restarted), Ok(false));
    let decision = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(10));
    assert_eq!(decision.effects, runs(&[(2, Step::Start)]));
    seen.began(&decision.effects[0]);
    seen.finished(2, ok(Running), secs(10));
    assert_eq!(seen.settled(2, Wanted::Restarted), Ok(true));
    // Restarting a stopped instance just starts it.
    let mut seen = web([Running, Running, Stopped], false);
    seen.want(2, Wanted::Restarted);
    assert_eq!(seen.instances[2].wanted, Wanted::Running);
}

#[test]
fn a_failed_stop_is_reported_and_not_tried_again() {
    let mut seen = with(web([Running; 3], false), |s| looked_at(s, secs(9)));
    seen.want(2, Wanted::Stopped);
    busy(&mut seen, 2, Step::Stop);
    let failed = Outcome {
        state: Failed,
        error: Some("the engine did not answer".into()),
    };
    seen.finished(2, failed, secs(10));
    assert_eq!(
        seen.settled(2, Wanted::Stopped),
        Err("the engine did not answer".into())
    );
    let decision = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(10));
    assert!(!decision.effects.contains(&Effect::Run(2, Step::Stop)));
}

#[test]
fn an_instance_unhealthy_before_the_deploy_is_through_fails_it() {
    let mut seen = with(web([Running; 3], false), |s| looked_at(s, secs(9)));
    seen.health_changed(2, Some(Health::Unknown), None);
    assert!(!seen.through);
    seen.health_changed(2, Some(Health::Unhealthy), Some("GET answered 500"));
    assert_eq!(seen.failure.as_deref(), Some("web: GET answered 500"));
    assert_eq!(seen.instances[2].wanted, Wanted::Running, "not restarted");
}

#[test]
fn an_instance_unhealthy_after_the_deploy_is_restarted_by_its_policy() {
    for (restarts, expected) in [(true, Wanted::Restarted), (false, Wanted::Running)] {
        let mut seen = with(web([Running; 3], false), |s| looked_at(s, secs(9)));
        seen.instances[2].restarts_unhealthy = restarts;
        seen.health_changed(2, Some(Health::Unknown), None);
        seen.health_changed(2, Some(Health::Healthy), None);
        assert!(seen.through, "every instance is ready");
        seen.health_changed(2, Some(Health::Unhealthy), Some("GET answered 500"));
        assert_eq!(seen.failure, None);
        assert_eq!(seen.instances[2].wanted, expected, "restarts: {restarts}");
        // Told again (by a later write) changes nothing more.
        seen.instances[2].wanted = Wanted::Running;
        seen.health_changed(2, Some(Health::Unhealthy), Some("GET answered 500"));
        assert_eq!(seen.instances[2].wanted, Wanted::Running);
    }
    // After an agent restart the deploy is through from the start.
    let mut seen = web([Running; 3], true);
    seen.instances[2].restarts_unhealthy = true;
    seen.health_changed(2, Some(Health::Unhealthy), Some("refused"));
    assert_eq!(seen.failure, None);
    assert_eq!(seen.instances[2].wanted, Wanted::Restarted);
}

#[test]
fn a_workload_is_looked_at_once_its_settle_time_is_over_and_a_crash_then_fails_the_deploy() {
    use super::reconcile::SETTLE_TIME;
    let mut seen = with(web([Running, Running, Pending], false), |s| {
        s.instances[0].settles = true;
        s.instances[0].started = Some(secs(10));
        looked_at(s, secs(10));
    });
    // While it settles, it is not looked at (the deploy of `web` waits for `port` and `dir`
    // to run, not to settle), and the deploy is not through.
    let early = reconcile(Goal::Run, OnFailure::Rollback, &seen, secs(10));
    assert_eq!(early.effects, runs(&[(2, Step::Deploy)]));
    assert_eq!(early.wake, Some(secs(10) + SETTLE_TIME));
    let due = secs(10) + SETTLE_TIME;
    let late = reconcile(Goal::Run, OnFailure::Rollback, &seen, due);
    assert_eq!(late.effects, runs(&[(0, Step::Check), (2, Step::Deploy)]));

    // A clean look before the time is over settles nothing; one after it settles it.
    seen.looked_after_start(0, None, secs(10));
    assert!(seen.instances[0].settling());
    seen.looked_after_start(0, None, due);
    assert!(!seen.instances[0].settling() && seen.failure.is_none());

    // A crash seen while settling fails the deploy, naming the instance and why.
    seen.instances[1].settles = true;
    seen.instances[1].started = Some(secs(10));
    seen.looked_after_start(1, Some("it exited with status 3".into()), due);
    assert!(
        seen.instances[1].settling(),
        "a crashed workload is never up"
    );
    let failure = seen.failure.clone().unwrap_or_default();
    assert!(
        failure.starts_with("dir: it did not keep running for 500 ms after it started")
            && failure.ends_with("it exited with status 3"),
        "{failure}"
    );
}
