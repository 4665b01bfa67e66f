//! One simulated run of a service on a cluster: the agents start and agree, the service is
//! deployed, the faults strike and are repaired on schedule, and every second of virtual time
//! the run notes what changed (placements, instances' states, membership) and checks the
//! invariants. `khutulun sim` prints its [`Report`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::agents::AgentCluster;
use super::faults::{Fault, FaultKind};
use super::invariants::{self, AGREEMENT_BOUND, Invariants, RECOVERY_BOUND, SINGLE_BOUND};
use super::network::NetworkFaults;
use super::report::{Event, Report};
use crate::control::protocol::Request;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The service template to deploy.
    pub template: PathBuf,
    /// How many hosts.
    pub hosts: usize,
    /// The seed every random choice follows from.
    pub seed: u64,
    /// How much virtual time to simulate.
    pub duration: Duration,
    /// Faults at given times.
    pub faults: Vec<Fault>,
    /// About how many random faults per 10 minutes of virtual time (0: none).
    pub random_faults: f64,
}

/// How often the run looks at the cluster and checks the invariants.
const TICK: Duration = Duration::from_secs(1);

/// How often the hosts are asked whom they see alive (each answer reads the host records).
const MEMBERSHIP_EVERY: u64 = 5;

/// The quiet end of a run with random faults: none strikes in it, so that the bounded
/// invariants are checked after the last one.
const QUIET_END: Duration = Duration::from_secs(180);

/// The namespace and name the service is deployed as.
const SERVICE: (&str, &str) = ("default", "sim");

/// A change the schedule makes: a fault strikes, or is repaired.
#[derive(Clone, Debug)]
enum Step {
    Strike(Fault),
    Repair(Fault),
    /// A host's agent that could not start is started again (as systemd restarts a unit).
    StartAgain(String),
}

/// How long a host whose agent could not start waits before it is tried again (systemd's
/// `RestartSec` in the agent's unit).
const AGENT_RETRY: Duration = Duration::from_secs(10);

/// Runs `options` on a current-thread runtime whose clock is paused; the report, or why the
/// run could not be made (a template that does not deploy, a host that cannot start).
pub async fn simulate(options: &SimOptions) -> Result<Report, String> {
    let mut cluster =
        AgentCluster::start(options.seed, options.hosts, NetworkFaults::lan()).await?;
    let mut run = Run::new(options);
    run.until_agreement(&cluster).await;
    run.deploy(&cluster, options).await?;
    let mut schedule = schedule(options, &run.planned_ids());
    while cluster.elapsed() < options.duration {
        let now = cluster.elapsed();
        while schedule.first().is_some_and(|(at, _)| *at <= now) {
            let (_, step) = schedule.remove(0);
            if let Some((at, again)) = run.apply(&mut cluster, step).await {
                let place = schedule.partition_point(|(other, _)| *other <= at);
                schedule.insert(place, (at, again));
            }
        }
        tokio::time::sleep(TICK).await;
        run.observe(&cluster).await;
    }
    Ok(run.report(&cluster, options))
}

/// How many faults of the network, the disk and the engines `--random-faults RATE` draws
/// besides its RATE faults of hosts, agents and workloads: a quarter as many.
const ENVIRONMENT_SHARE: f64 = 0.25;

/// About `rate` faults per 10 minutes of the run after its first 30 s, none in its quiet
/// end: each tick strikes one with that chance, made by `fault` (from when it strikes and how
/// long it may last), all from the draws of `draw`.
fn draw_faults(
    options: &SimOptions,
    rate: f64,
    draw: &mut StdRng,
    fault: impl Fn(&mut StdRng, Duration, Duration) -> Fault,
) -> Vec<Fault> {
    let last = options.duration.saturating_sub(QUIET_END);
    let chance = (rate / 600.0).min(1.0);
    let mut faults = Vec::new();
    let mut at = Duration::from_secs(30);
    while at < last {
        if draw.random_bool(chance) {
            faults.push(fault(draw, at, last - at));
        }
        at += TICK;
    }
    faults
}

/// The faults given and drawn, as strikes and repairs in time order.
fn schedule(options: &SimOptions, instances: &[String]) -> Vec<(Duration, Step)> {
    let mut faults = options.faults.clone();
    if options.random_faults > 0.0 {
        let names: Vec<String> = (1..=options.hosts).map(|i| format!("host-{i}")).collect();
        let rate = options.random_faults;
        let mut draw = StdRng::seed_from_u64(options.seed ^ 0x5eed_fa17);
        faults.extend(draw_faults(options, rate, &mut draw, |draw, at, room| {
            Fault::random(draw, at, room, &names, instances)
        }));
        let mut draw = StdRng::seed_from_u64(options.seed ^ 0x0e7_d15c);
        let rate = rate * ENVIRONMENT_SHARE;
        faults.extend(draw_faults(options, rate, &mut draw, |draw, at, room| {
            Fault::random_environment(draw, at, room, &names)
        }));
    }
    let mut steps: Vec<(Duration, Step)> = Vec::new();
    for fault in faults {
        if let Some(ends) = fault.ends() {
            steps.push((ends, Step::Repair(fault.clone())));
        }
        steps.push((fault.at, Step::Strike(fault)));
    }
    steps.sort_by_key(|(at, _)| *at);
    steps
}

/// What a run keeps between its looks.
struct Run {
    timeline: Vec<Event>,
    invariants: Invariants,
    /// When the last fault struck or was repaired.
    disturbed: Duration,
    /// Faults in force until their repair (a kill for good is not: it is how the cluster is
    /// now), to rebuild the network's partitions.
    in_force: Vec<Fault>,
    placements: BTreeMap<String, String>,
    states: BTreeMap<String, String>,
    /// The service's outputs as last seen.
    outputs: BTreeMap<String, serde_json::Value>,
    deployed: BTreeSet<(String, String)>,
    epoch: u64,
    ticks: u64,
    /// How many running hosts agreed at the last look (`Some(None)`: they disagreed).
    agreed: Option<Option<usize>>,
    seed: u64,
}

impl Run {
    fn new(options: &SimOptions) -> Self {
        Run {
            timeline: Vec::new(),
            invariants: Invariants::default(),
            disturbed: Duration::ZERO,
            in_force: Vec::new(),
            placements: BTreeMap::new(),
            states: BTreeMap::new(),
            outputs: BTreeMap::new(),
            deployed: BTreeSet::new(),
            epoch: 0,
            ticks: 0,
            agreed: None,
            seed: options.seed,
        }
    }

    fn note(&mut self, cluster: &AgentCluster, kind: &'static str, text: String) {
        let at_ms = u64::try_from(cluster.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.timeline.push(Event { at_ms, kind, text });
    }

    /// Lets the hosts find each other before the deploy (at most [`AGREEMENT_BOUND`]).
    async fn until_agreement(&mut self, cluster: &AgentCluster) {
        while cluster.elapsed() < AGREEMENT_BOUND {
            tokio::time::sleep(TICK).await;
            if agreement(cluster).await.is_ok() {
                break;
            }
        }
        let _ = self.observe_membership(cluster).await;
    }

    /// Deploys the template through the first running host.
    async fn deploy(&mut self, cluster: &AgentCluster, options: &SimOptions) -> Result<(), String> {
        let template = std::path::absolute(&options.template)
            .map_err(|e| format!("{}: {e}", options.template.display()))?;
        let request = Request::Deploy {
            template: template.to_string_lossy().into_owned(),
            namespace: SERVICE.0.into(),
            name: SERVICE.1.into(),
            inputs: Default::default(),
            on_failure: Default::default(),
        };
        let first = (0..options.hosts).find(|&i| cluster.runs(i)).unwrap_or(0);
        match cluster.ask(first, request).await {
            Some(Ok(_)) => {}
            Some(Err(failure)) => return Err(format!("the deploy failed: {}", failure.message)),
            None => return Err("the deploy got no answer".into()),
        }
        self.deployed.insert((SERVICE.0.into(), SERVICE.1.into()));
        self.note(
            cluster,
            "deploy",
            format!(
                "{}/{} from {}",
                SERVICE.0,
                SERVICE.1,
                options.template.display()
            ),
        );
        self.observe(cluster).await;
        Ok(())
    }

    /// The ids of the deployed service's instances.
    fn planned_ids(&self) -> Vec<String> {
        self.placements
            .keys()
            .filter_map(|q| q.rsplit('/').next().map(str::to_owned))
            .collect()
    }

    /// Strikes or repairs a fault; a step to take later when an agent could not start.
    async fn apply(&mut self, cluster: &mut AgentCluster, step: Step) -> Option<(Duration, Step)> {
        self.disturbed = cluster.elapsed();
        let (fault, strikes) = match step {
            Step::Strike(fault) => (fault, true),
            Step::Repair(fault) => (fault, false),
            Step::StartAgain(name) => return self.start_agent(cluster, &name).await,
        };
        let mut again = None;
        let host = |name: &str| cluster.index_of(name);
        let outcome = match (&fault.kind, strikes) {
            (FaultKind::Kill(name), true) => host(name).map(|i| cluster.crash_machine(i)),
            (FaultKind::CrashAgent(name), true) => host(name).map(|i| cluster.crash_agent(i)),
            (FaultKind::Kill(name) | FaultKind::CrashAgent(name), false) => {
                again = self.start_agent(cluster, name).await;
                cluster.index_of(name).map(|_| ())
            }
            (FaultKind::CutStore(name), cut) => host(name).map(|i| cluster.cut_store(i, cut)),
            (FaultKind::FailStarts(name), fail) => {
                let reason = fail.then(|| format!("simulated: starts fail on {name}"));
                cluster.workloads().fail_starts(name, reason);
                Some(())
            }
            (FaultKind::Crash(id), _) => {
                let instance = format!("{}/{}/{id}", SERVICE.0, SERVICE.1);
                cluster.workloads().crash(&instance, "simulated crash");
                Some(())
            }
            (FaultKind::Skew(name, millis), skewed) => {
                let millis = if skewed { *millis } else { 0 };
                host(name).map(|i| cluster.skew_clock(i, millis))
            }
            (FaultKind::SlowStarts(name, millis), slow) => {
                let delay = slow.then(|| Duration::from_millis(*millis));
                cluster.workloads().slow_starts(name, delay);
                Some(())
            }
            (FaultKind::OneWay(from, to), _) => host(from).and(host(to)).map(|_| ()),
            (FaultKind::FullDisk, true) => {
                cluster.disk().fill();
                Some(())
            }
            (FaultKind::Partition(_) | FaultKind::Loss(_) | FaultKind::Duplicate(_), _)
            | (FaultKind::FullDisk, false) => Some(()),
        };
        match strikes {
            true if fault.lasting.is_some() => self.in_force.push(fault.clone()),
            true => {}
            false => self.in_force.retain(|f| *f != fault),
        }
        if !self.in_force.iter().any(|f| f.kind == FaultKind::FullDisk) {
            cluster.disk().set_capacity(None);
        }
        self.reshape_network(cluster);
        let (kind, verb) = if strikes {
            ("fault", "")
        } else {
            ("repair", "over: ")
        };
        let unknown = if outcome.is_none() {
            " (no such host)"
        } else {
            ""
        };
        self.note(cluster, kind, format!("{verb}{fault}{unknown}"));
        again
    }

    /// Starts `name`'s agent again. One that cannot start (its store is full, say) is tried
    /// again after [`AGENT_RETRY`], as systemd restarts the agent's unit: given up, its
    /// workloads would run on beside their moved copies for ever.
    async fn start_agent(
        &mut self,
        cluster: &mut AgentCluster,
        name: &str,
    ) -> Option<(Duration, Step)> {
        let index = cluster.index_of(name)?;
        let why = cluster.start_agent(index).await.err()?;
        let retry = AGENT_RETRY.as_secs();
        let text = format!("{name}'s agent did not start ({why}); it starts again in {retry}s");
        self.note(cluster, "agent", text);
        Some((
            cluster.elapsed() + AGENT_RETRY,
            Step::StartAgain(name.to_owned()),
        ))
    }

    /// Makes the network what the faults in force say: its partitions, its links cut one
    /// way, and the most loss and duplication any of them asks for.
    fn reshape_network(&self, cluster: &AgentCluster) {
        let links: Vec<(usize, usize)> = self
            .in_force
            .iter()
            .filter_map(|fault| match &fault.kind {
                FaultKind::OneWay(from, to) => {
                    Some((cluster.index_of(from)?, cluster.index_of(to)?))
                }
                _ => None,
            })
            .collect();
        cluster.network().cut_one_way(&links);
        let (loss, duplicate) = self
            .in_force
            .iter()
            .map(Fault::unreliability)
            .fold((0, 0), |(l, d), (fl, fd)| (l.max(fl), d.max(fd)));
        let share = |percent: u32| f64::from(percent) / 100.0;
        cluster
            .network()
            .set_unreliability(share(loss), share(duplicate));
        self.repartition(cluster);
    }

    /// Cuts the network by the partitions in force.
    fn repartition(&self, cluster: &AgentCluster) {
        let sides: Vec<Vec<usize>> = self
            .in_force
            .iter()
            .filter_map(|fault| match &fault.kind {
                FaultKind::Partition(names) => {
                    Some(names.iter().filter_map(|n| cluster.index_of(n)).collect())
                }
                _ => None,
            })
            .collect();
        match sides.is_empty() {
            true => cluster.network().heal(),
            false => cluster.partition(&sides),
        }
    }

    /// Notes what changed since the last look and checks the invariants.
    async fn observe(&mut self, cluster: &AgentCluster) {
        self.ticks += 1;
        let now = cluster.elapsed();
        self.observe_store(cluster);
        let files = cluster.disk().take_written();
        self.invariants
            .check("store-parses", now, invariants::store_parses(&files));
        let kept = invariants::writes_kept(cluster.store(), self.epoch, &self.deployed);
        if let Ok(epoch) = &kept {
            self.epoch = *epoch;
        }
        self.invariants.check("writes-kept", now, kept.map(|_| ()));
        let doubles = cluster.workloads().double_reservations();
        let ports = doubles.first().map_or(Ok(()), |d| Err(d.clone()));
        self.invariants.check("one-port-owner", now, ports);
        let quiet = now.saturating_sub(self.disturbed);
        let running = cluster.workloads().running();
        if self.in_force.is_empty() && quiet >= SINGLE_BOUND {
            let single = invariants::single_placement(&running);
            self.invariants.check("single-placement", now, single);
        }
        if self.in_force.is_empty() && quiet >= RECOVERY_BOUND {
            let live: BTreeSet<String> = cluster
                .names()
                .into_iter()
                .enumerate()
                .filter(|(i, _)| cluster.runs(*i))
                .map(|(_, name)| name)
                .collect();
            let planned: Vec<String> = self.placements.keys().cloned().collect();
            let outcome = invariants::instances_live(&planned, &running, &live);
            self.invariants.check("instances-live", now, outcome);
        }
        if self.ticks.is_multiple_of(MEMBERSHIP_EVERY) {
            let agreed = self.observe_membership(cluster).await;
            if self.in_force.is_empty() && quiet >= AGREEMENT_BOUND {
                self.invariants.check("membership-agrees", now, agreed);
            }
        }
    }

    /// Notes changed placements, instance states and outputs.
    fn observe_store(&mut self, cluster: &AgentCluster) {
        let (namespace, name) = SERVICE;
        let Ok(Some(view)) = cluster.store().load_service(namespace, name) else {
            return;
        };
        for (id, host) in &view.plan.placements {
            let key = format!("{namespace}/{name}/{id}");
            let before = self.placements.insert(key.clone(), host.clone());
            match before {
                None => self.note(cluster, "placement", format!("{id} placed on {host}")),
                Some(before) if before != *host => self.note(
                    cluster,
                    "placement",
                    format!("{id} moved from {before} to {host}"),
                ),
                Some(_) => {}
            }
        }
        let outputs = crate::actors::service_status(&view).outputs;
        for (output, value) in outputs {
            if self.outputs.get(&output) != Some(&value) {
                self.note(cluster, "output", format!("{output} = {value}"));
                self.outputs.insert(output, value);
            }
        }
        for instance in &view.instances {
            let key = format!("{namespace}/{name}/{}", instance.id);
            let state = format!("{} on {}", instance.state, instance.host);
            if self.states.get(&key) != Some(&state) {
                let why = instance
                    .message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                self.note(cluster, "state", format!("{} {state}{why}", instance.id));
                self.states.insert(key, state);
            }
        }
    }

    /// Notes when the running hosts come to agree on who is alive, and when they stop;
    /// whether they do.
    async fn observe_membership(&mut self, cluster: &AgentCluster) -> Result<(), String> {
        let agreed = agreement(cluster).await;
        let running = (0..cluster.names().len())
            .filter(|&i| cluster.runs(i))
            .count();
        let now = agreed.as_ref().ok().map(|()| running);
        if self.agreed != Some(now) {
            let text = match &agreed {
                Ok(()) => format!("the {running} running hosts agree on who is alive"),
                Err(why) => format!("the hosts disagree: {why}"),
            };
            self.note(cluster, "membership", text);
            self.agreed = Some(now);
        }
        agreed
    }

    fn report(self, cluster: &AgentCluster, options: &SimOptions) -> Report {
        let stats = cluster.network().stats();
        let mut replay = format!(
            "khutulun sim {} --hosts {} --seed {} --duration {}s",
            options.template.display(),
            options.hosts,
            self.seed,
            options.duration.as_secs()
        );
        for fault in &options.faults {
            replay.push_str(&format!(" --fault '{fault}'"));
        }
        if options.random_faults > 0.0 {
            replay.push_str(&format!(" --random-faults {}", options.random_faults));
        }
        Report {
            seed: self.seed,
            hosts: options.hosts,
            duration_s: options.duration.as_secs(),
            timeline: self.timeline,
            invariants: self.invariants.reports(),
            datagrams: [stats.sent, stats.lost, stats.cut, stats.delivered],
            replay,
        }
    }
}

/// Whether every running host sees exactly the running hosts alive; who sees what otherwise.
async fn agreement(cluster: &AgentCluster) -> Result<(), String> {
    let names = cluster.names();
    let running: BTreeSet<String> = (0..names.len())
        .filter(|&i| cluster.runs(i))
        .map(|i| names[i].clone())
        .collect();
    for (index, name) in names.iter().enumerate() {
        if !cluster.runs(index) {
            continue;
        }
        let alive = cluster.alive_as_seen_by(index).await?;
        if alive != running {
            let missing: Vec<_> = running.difference(&alive).collect();
            let extra: Vec<_> = alive.difference(&running).collect();
            return Err(format!(
                "{name} sees {} alive; missing {missing:?}, extra {extra:?}",
                alive.len()
            ));
        }
    }
    Ok(())
}
