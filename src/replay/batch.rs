//! Replaying many requests: a concurrency limit, a rate (token bucket), and the circuit breaker; then the verdicts
//! and the matrix of logged status → replayed status.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};

use super::breaker::{Breaker, Circuit, Permit};
use super::request::Request;
use super::send::{ClientOptions, Outcome, SendOptions, client, prepare, send};

/// How a batch is paced and guarded.
#[derive(Clone, Copy, Debug)]
pub struct BatchOptions {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests started per second at most (`None` = no limit).
    pub rate: Option<f64>,
    /// Consecutive failures (5xx or no response) that open the circuit (0 = never).
    pub break_after: u32,
    /// How long it stays open before a probe (`None` = for good).
    pub cooldown: Option<Duration>,
}

/// What the logged record says happened.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Logged {
    /// The status the gateway (or service) logged.
    pub status: Option<u16>,
    /// Its logged latency, ms.
    pub latency_ms: Option<f64>,
    /// The upstream statuses it logged, as logged (`502, 200`).
    pub upstream_status: Option<String>,
}

impl Logged {
    /// What a record logged.
    pub fn of(rec: &crate::record::Record<'_>) -> Self {
        let up = rec.upstream_status.as_slice();
        Logged {
            status: rec.status,
            latency_ms: rec.duration_us.map(|us| us as f64 / 1000.0),
            upstream_status: (!up.is_empty()).then(|| up.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")),
        }
    }
}

/// How a replay compares with the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The same status as logged.
    Same,
    /// Another status.
    Changed,
    /// No response.
    Failed,
    /// Not sent: the circuit was open.
    Skipped,
}

impl Verdict {
    /// From the logged status and what came back (`None` = skipped).
    pub fn of(logged: Option<u16>, outcome: Option<&Outcome>) -> Verdict {
        match outcome {
            None => Verdict::Skipped,
            Some(o) => match o.status {
                None => Verdict::Failed,
                Some(s) if Some(s) == logged => Verdict::Same,
                Some(_) => Verdict::Changed,
            },
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Same => "same",
            Verdict::Changed => "changed",
            Verdict::Failed => "failed",
            Verdict::Skipped => "skipped",
        }
    }
}

/// Counts over a batch, and the logged → replayed matrix.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Summary {
    /// Requests sent (with or without a response).
    pub replayed: u64,
    /// Same status as logged.
    pub same: u64,
    /// Another status.
    pub changed: u64,
    /// No response.
    pub failed: u64,
    /// Not sent.
    pub skipped: u64,
    /// The circuit's state at the end: `closed`, `open`, `half-open`.
    pub circuit: &'static str,
    /// How many times the circuit opened.
    pub circuit_opened: u32,
    /// Logged status → replayed status (or `failed`, `skipped`) → count.
    pub matrix: BTreeMap<String, BTreeMap<String, u64>>,
    /// With `--both`, logged status → the upstream's status, as `matrix` counts the gateway's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub upstream_matrix: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The matrix cell a request counts in: its logged status, and what came back (or `failed`, `skipped`).
fn cell(logged: Option<u16>, outcome: Option<&Outcome>) -> (String, String) {
    let v = Verdict::of(logged, outcome);
    let from = logged.map_or("-".to_string(), |s| s.to_string());
    let to = match (v, outcome.and_then(|o| o.status)) {
        (Verdict::Same | Verdict::Changed, Some(s)) => s.to_string(),
        _ => v.name().to_string(),
    };
    (from, to)
}

impl Summary {
    /// Count one request.
    pub fn add(&mut self, logged: Option<u16>, outcome: Option<&Outcome>) {
        let v = Verdict::of(logged, outcome);
        match v {
            Verdict::Same => self.same += 1,
            Verdict::Changed => self.changed += 1,
            Verdict::Failed => self.failed += 1,
            Verdict::Skipped => self.skipped += 1,
        }
        self.replayed += (v != Verdict::Skipped) as u64;
        let (from, to) = cell(logged, outcome);
        *self.matrix.entry(from).or_default().entry(to).or_default() += 1;
    }

    /// Count what the upstream sent back for the same request (`--both`); the counts stay the gateway's.
    pub fn add_upstream(&mut self, logged: Option<u16>, outcome: Option<&Outcome>) {
        let (from, to) = cell(logged, outcome);
        *self.upstream_matrix.entry(from).or_default().entry(to).or_default() += 1;
    }
}

/// One request finished (or skipped): its index in the batch, what came back (`None` = skipped), and the
/// circuit's state right after.
pub type Done = (usize, Option<Outcome>, Circuit);

/// How the batch ended.
#[derive(Clone, Copy, Debug)]
pub struct End {
    /// The circuit's state.
    pub circuit: Circuit,
    /// How many times it opened.
    pub opened: u32,
}

/// Starts requests no closer together than `1/rate`.
struct Pacer {
    every: Option<Duration>,
    next: Option<tokio::time::Instant>,
}

impl Pacer {
    async fn turn(&mut self) {
        let Some(every) = self.every else { return };
        let now = tokio::time::Instant::now();
        let at = self.next.map_or(now, |n| n.max(now));
        tokio::time::sleep_until(at).await;
        // from when this one really starts: a late wake-up must not let the next one come early
        self.next = Some(tokio::time::Instant::now().max(at) + every);
    }
}

/// Replay `requests` in order, reporting each as it finishes on `done`. Requests whose turn comes while the
/// circuit is open are skipped; after the cooldown, the next one is the probe.
pub async fn run(requests: Vec<(Request, SendOptions)>, opts: BatchOptions, done: mpsc::UnboundedSender<Done>) -> End {
    let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let breaker = Arc::new(Mutex::new(Breaker::new(opts.break_after, opts.cooldown)));
    let mut pacer =
        Pacer { every: opts.rate.filter(|r| *r > 0.0).map(|r| Duration::from_secs_f64(1.0 / r)), next: None };
    let mut clients: HashMap<ClientOptions, reqwest::Client> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (req, send_opts)) in requests.into_iter().enumerate() {
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        // a circuit open for good skips the rest at once; otherwise each request waits its turn
        let open_for_good =
            opts.cooldown.is_none() && matches!(breaker.lock().expect("breaker lock").state(), Circuit::Open(_));
        if !open_for_good {
            pacer.turn().await;
        }
        let (permit, state) = {
            let mut b = breaker.lock().expect("breaker lock");
            (b.permit(Instant::now()), b.state())
        };
        if permit == Permit::Skip {
            let _ = done.send((i, None, state));
            continue;
        }
        let prepared = match prepare(&req, send_opts.timeout).await {
            Ok(p) => p,
            Err(e) => {
                let _ = done.send((i, Some(Outcome::failed(&req, e)), state));
                continue;
            }
        };
        let client = match clients.get(&prepared.client) {
            Some(c) => c.clone(),
            None => match client(&prepared.client) {
                Ok(c) => clients.entry(prepared.client.clone()).or_insert(c).clone(),
                Err(e) => {
                    let out = Outcome::failed(&req, format!("cannot set up the HTTP client: {e:#}"));
                    let _ = done.send((i, Some(out), state));
                    continue;
                }
            },
        };
        let (breaker, done) = (breaker.clone(), done.clone());
        tasks.spawn(async move {
            let out = send(&client, &req, &prepared, &send_opts).await;
            let ok = out.status.is_some_and(|s| s < 500);
            let state = {
                let mut b = breaker.lock().expect("breaker lock");
                b.record(ok, permit == Permit::Probe, Instant::now());
                b.state()
            };
            let _ = done.send((i, Some(out), state));
            drop(slot); // the next request may start once this one is counted
        });
    }
    while tasks.join_next().await.is_some() {}
    let b = breaker.lock().expect("breaker lock");
    End { circuit: b.state(), opened: b.times_opened() }
}
