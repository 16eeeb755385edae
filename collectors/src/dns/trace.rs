//! Traced lookups (DESIGN.md §6): a name resolved the way glibc's stub resolver does
//! it, every query recorded as a [`TraceStep`].
//!
//! - Candidates come from [`expand`] (ndots, search order, trailing dot).
//! - For each candidate, rounds (`attempts`) over the servers in order, A and AAAA
//!   together on one socket ([`exchange::ask`]), with glibc's per-server timeout
//!   ([`server_timeout`]). A server that times out, fails (SERVFAIL, REFUSED, NOTIMP) or
//!   refuses the port hands over to the next one; NOERROR or NXDOMAIN decides the
//!   candidate.
//! - Between candidates, `res_search`'s rules ([`next_candidate`]): NXDOMAIN, NODATA
//!   and SERVFAIL move on to the next candidate; an answer ends the search, and so
//!   does a candidate no server answered (glibc gives up with `EAI_AGAIN` then).
//!
//! No cache anywhere: each trace asks the network afresh, so what it shows is what a
//! program would see now.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::time::Instant;

use super::candidates::{Expansion, NameError, expand};
use super::exchange::{self, AskOptions, Question, Reply};
use crate::model::{DnsAnswer, DnsTrace, ResolverConfig, TraceOrigin, TraceStep};

/// glibc's fallback when resolv.conf names no server.
const FALLBACK_SERVER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// The timeout glibc's `send_dg` gives server `index` (0-based) of `count`:
/// `retrans << index`, divided by the server count for every server but the first,
/// at least one second. The same in every round.
#[must_use]
pub fn server_timeout(index: usize, timeout_s: u32, count: usize) -> Duration {
    let shifted = u64::from(timeout_s) << index.min(16);
    let seconds = if index > 0 { shifted / count.max(1) as u64 } else { shifted };
    Duration::from_secs(seconds.max(1))
}

/// How one candidate ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateOutcome {
    /// Addresses came back.
    Answered(Vec<IpAddr>),
    /// The name does not exist (NXDOMAIN for every type).
    NxDomain,
    /// The name exists without address records.
    NoData,
    /// Every server failed with SERVFAIL.
    ServFail,
    /// Servers refused or could not do it (REFUSED, NOTIMP, FORMERR).
    NoRecovery(String),
    /// No server answered at all.
    NoAnswer(String),
    /// Every server's port was closed (ECONNREFUSED): glibc gives up on the name.
    Refused(String),
}

impl CandidateOutcome {
    /// Why the candidate failed, in words; `None` for an answer.
    #[must_use]
    pub fn error(&self) -> Option<String> {
        match self {
            Self::Answered(_) => None,
            Self::NxDomain => Some("NXDOMAIN: no such name".to_owned()),
            Self::NoData => Some("no A or AAAA record (NODATA)".to_owned()),
            Self::ServFail => Some("SERVFAIL: the servers could not answer".to_owned()),
            Self::NoRecovery(why) | Self::NoAnswer(why) | Self::Refused(why) => Some(why.clone()),
        }
    }
}

/// What `res_search` remembers while walking the candidates.
#[derive(Debug, Default)]
struct Search {
    /// The name as written was asked.
    tried_as_is: bool,
    /// Why asking it as written (first) failed.
    saved: Option<String>,
    /// Some candidate had NODATA.
    got_nodata: bool,
    /// Some candidate had SERVFAIL.
    got_servfail: bool,
}

/// Whether `res_search` tries the next candidate after `outcome`.
#[must_use]
pub const fn next_candidate(outcome: &CandidateOutcome) -> bool {
    matches!(outcome, CandidateOutcome::NxDomain | CandidateOutcome::NoData | CandidateOutcome::ServFail)
}

/// What the trace needs to know besides the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracer {
    /// The configuration to reproduce.
    pub config: ResolverConfig,
    /// The port servers listen on: 53, except in tests.
    pub port: u16,
}

impl Tracer {
    /// A tracer for `config` on port 53.
    #[must_use]
    pub const fn new(config: ResolverConfig) -> Self {
        Self { config, port: 53 }
    }

    fn servers(&self) -> Vec<SocketAddr> {
        let servers = if self.config.nameservers.is_empty() {
            vec![FALLBACK_SERVER]
        } else {
            self.config.nameservers.clone()
        };
        servers.into_iter().map(|ip| SocketAddr::new(ip, self.port)).collect()
    }

    fn option(&self, name: &str) -> bool {
        self.config.options.iter().any(|option| option == name)
    }

    fn ask_options(&self) -> AskOptions {
        AskOptions {
            edns0: self.option("edns0"),
            trust_ad: self.option("trust-ad"),
            use_vc: self.option("use-vc"),
            single_request: self.option("single-request") || self.option("single-request-reopen"),
        }
    }

    /// Trace `name`. Fails only when `name` is not a valid domain name.
    ///
    /// The flow is `__res_context_search`'s: a name with enough dots (or a trailing
    /// dot) is asked as written first, and a trailing dot ends there; then the search
    /// domains in order, until an answer, or until a candidate fails in a way that is
    /// not NXDOMAIN, NODATA or SERVFAIL; then the name as written, unless already
    /// asked (or `no-tld-query` forbids it for a single label). Only a server refusing
    /// the port everywhere ends everything at once.
    pub async fn trace(&self, name: &str, origin: TraceOrigin) -> Result<DnsTrace, NameError> {
        let Expansion { bare, trailing_dot, as_is_first, candidates } =
            expand(name, &self.config.search, self.config.ndots)?;
        let started_at = time::OffsetDateTime::now_utc();
        let start = Instant::now();
        let mut search = Search::default();
        let mut steps = Vec::new();
        let mut outcome = None;
        if as_is_first {
            let first = self.ask_candidate(&bare, &mut steps).await;
            search.tried_as_is = true;
            let stop =
                trailing_dot || matches!(first, CandidateOutcome::Answered(_) | CandidateOutcome::Refused(_));
            search.saved = first.error();
            outcome = Some((bare.clone(), first));
            if stop {
                return Ok(finish(name, origin, started_at, start, candidates, steps, outcome, &search));
            }
        }
        let searched: Vec<&String> = candidates.iter().filter(|c| **c != bare || !as_is_first).collect();
        let last_is_as_is = !as_is_first && candidates.last() == Some(&bare);
        let search_part =
            if last_is_as_is { &searched[..searched.len().saturating_sub(1)] } else { &searched[..] };
        for candidate in search_part {
            let result = self.ask_candidate(candidate, &mut steps).await;
            if **candidate == bare {
                search.tried_as_is = true;
            }
            let (stop_all, stop_search) = match &result {
                CandidateOutcome::Answered(_) | CandidateOutcome::Refused(_) => (true, true),
                CandidateOutcome::NoData => {
                    search.got_nodata = true;
                    (false, false)
                }
                CandidateOutcome::ServFail => {
                    search.got_servfail = true;
                    (false, false)
                }
                CandidateOutcome::NxDomain => (false, false),
                CandidateOutcome::NoRecovery(_) | CandidateOutcome::NoAnswer(_) => (false, true),
            };
            outcome = Some(((*candidate).clone(), result));
            if stop_all {
                return Ok(finish(name, origin, started_at, start, candidates, steps, outcome, &search));
            }
            if stop_search {
                break;
            }
        }
        let no_tld_query = self.option("no-tld-query") && !bare.contains('.') && !search_part.is_empty();
        if !search.tried_as_is && !no_tld_query {
            let last = self.ask_candidate(&bare, &mut steps).await;
            outcome = Some((bare.clone(), last));
        }
        Ok(finish(name, origin, started_at, start, candidates, steps, outcome, &search))
    }

    /// One candidate with this tracer's servers, options and types.
    async fn ask_candidate(&self, candidate: &str, steps: &mut Vec<TraceStep>) -> CandidateOutcome {
        let qtypes: &[RecordType] =
            if self.option("no-aaaa") { &[RecordType::A] } else { &[RecordType::A, RecordType::AAAA] };
        self.candidate(candidate, &self.servers(), qtypes, self.ask_options(), steps).await
    }

    /// Resolve one candidate over the servers and rounds; record every step.
    async fn candidate(
        &self,
        candidate: &str,
        servers: &[SocketAddr],
        qtypes: &[RecordType],
        options: AskOptions,
        steps: &mut Vec<TraceStep>,
    ) -> CandidateOutcome {
        let Ok(name) = Name::from_ascii(format!("{candidate}.")) else {
            return CandidateOutcome::NoRecovery(format!("`{candidate}` cannot be encoded as a DNS name"));
        };
        let questions: Vec<Question> =
            qtypes.iter().map(|&qtype| Question { name: name.clone(), qtype }).collect();
        let mut failure: Option<CandidateOutcome> = None;
        let mut all_refused = true;
        for attempt in 1..=self.config.attempts.max(1) {
            for (index, &server) in servers.iter().enumerate() {
                let timeout = server_timeout(index, self.config.timeout_s, servers.len());
                let replies = exchange::ask(server, &questions, timeout, options).await;
                for (question, reply) in questions.iter().zip(&replies) {
                    push_steps(steps, candidate, server, question.qtype, attempt, reply);
                }
                all_refused &= replies.iter().all(|reply| reply.refused);
                match decide(&replies) {
                    Decision::Decided(outcome) => return outcome,
                    Decision::NextServer(outcome) => {
                        // A failure code beats a timeout when telling why nothing worked.
                        if failure.is_none() || !matches!(outcome, CandidateOutcome::NoAnswer(_)) {
                            failure = Some(outcome);
                        }
                    }
                }
            }
        }
        match failure {
            Some(CandidateOutcome::NoAnswer(why)) if all_refused => CandidateOutcome::Refused(why),
            Some(failure) => failure,
            None => CandidateOutcome::NoAnswer("no server to ask".to_owned()),
        }
    }
}

/// The trace from its steps and the last candidate's outcome.
#[expect(clippy::too_many_arguments, reason = "the parts of one finished trace")]
fn finish(
    name: &str,
    origin: TraceOrigin,
    started_at: time::OffsetDateTime,
    start: Instant,
    candidates: Vec<String>,
    steps: Vec<TraceStep>,
    outcome: Option<(String, CandidateOutcome)>,
    search: &Search,
) -> DnsTrace {
    let (mut answered_by, mut result, mut error) = (None, Vec::new(), None);
    match outcome {
        Some((candidate, CandidateOutcome::Answered(addresses))) => {
            answered_by = Some(candidate);
            result = addresses;
        }
        // As glibc reports it: the as-written query's failure first, then NODATA
        // or SERVFAIL seen on the way, then the last failure.
        Some((_, last)) => {
            error = search.saved.clone().or_else(|| {
                if search.got_nodata {
                    CandidateOutcome::NoData.error()
                } else if search.got_servfail {
                    CandidateOutcome::ServFail.error()
                } else {
                    None
                }
            });
            error = error.or_else(|| last.error());
            if matches!(last, CandidateOutcome::NxDomain)
                && search.saved.is_none()
                && !search.got_nodata
                && !search.got_servfail
            {
                error = Some(format!("NXDOMAIN: no such name (tried {})", candidates.join(", ")));
            }
        }
        None => error = Some("no candidate was asked".to_owned()),
    }
    DnsTrace {
        name: name.trim().to_owned(),
        origin,
        started_at,
        candidates,
        answered_by,
        result,
        error,
        steps,
        total_ms: millis(start.elapsed()),
        system: None,
        differences: Vec::new(),
    }
}

/// What one server's replies mean for the candidate.
enum Decision {
    /// NOERROR or NXDOMAIN for every question: the candidate is decided.
    Decided(CandidateOutcome),
    /// A timeout or a failure: ask the next server (why, in case none does better).
    NextServer(CandidateOutcome),
}

fn decide(replies: &[Reply]) -> Decision {
    // An answer for one type stands even when the other type failed (a forwarder that
    // SERVFAILs AAAA, a firewall eating them): glibc returns what it got.
    let answered: Vec<IpAddr> = replies
        .iter()
        .filter_map(|reply| reply.message.as_ref())
        .filter(|message| message.metadata.response_code == ResponseCode::NoError)
        .flat_map(|message| message.answers.iter().filter_map(|record| address_of(&record.data)))
        .collect();
    if !answered.is_empty() {
        return Decision::Decided(CandidateOutcome::Answered(answered));
    }
    let mut addresses = Vec::new();
    let mut all_nxdomain = true;
    for reply in replies {
        let Some(message) = &reply.message else {
            let why = reply.error.clone().unwrap_or_else(|| "no answer".to_owned());
            return Decision::NextServer(CandidateOutcome::NoAnswer(why));
        };
        match message.metadata.response_code {
            ResponseCode::NoError => all_nxdomain = false,
            ResponseCode::NXDomain => {}
            ResponseCode::ServFail => return Decision::NextServer(CandidateOutcome::ServFail),
            other => {
                return Decision::NextServer(CandidateOutcome::NoRecovery(format!(
                    "{}: the server will not answer",
                    rcode_name(other)
                )));
            }
        }
        addresses.extend(message.answers.iter().filter_map(|record| address_of(&record.data)));
    }
    let outcome = if !addresses.is_empty() {
        CandidateOutcome::Answered(addresses)
    } else if all_nxdomain {
        CandidateOutcome::NxDomain
    } else {
        CandidateOutcome::NoData
    };
    Decision::Decided(outcome)
}

const fn address_of(data: &RData) -> Option<IpAddr> {
    match data {
        RData::A(a) => Some(IpAddr::V4(a.0)),
        RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
        _ => None,
    }
}

/// The step (or, after truncation, the UDP and TCP steps) of one reply.
fn push_steps(
    steps: &mut Vec<TraceStep>,
    candidate: &str,
    server: SocketAddr,
    qtype: RecordType,
    attempt: u32,
    reply: &Reply,
) {
    let base = TraceStep {
        candidate: candidate.to_owned(),
        server,
        client: reply.local,
        qtype: qtype.to_string(),
        transport: reply.transport,
        attempt,
        rcode: None,
        nodata: false,
        truncated: false,
        answers: Vec::new(),
        cname_chain: Vec::new(),
        ignored: reply.ignored,
        latency_ms: millis(reply.latency),
        error: reply.error.clone(),
    };
    if let Some(udp_latency) = reply.truncated_udp {
        steps.push(TraceStep {
            transport: crate::model::DnsTransport::Udp,
            client: reply.truncated_local,
            rcode: Some("NOERROR".to_owned()),
            truncated: true,
            ignored: 0,
            latency_ms: millis(udp_latency),
            error: None,
            ..base.clone()
        });
    }
    let Some(message) = &reply.message else {
        steps.push(base);
        return;
    };
    let answers: Vec<DnsAnswer> = message
        .answers
        .iter()
        .map(|record| DnsAnswer {
            name: trim_dot(&record.name.to_ascii()),
            rtype: record.record_type().to_string(),
            data: record_data(&record.data),
            ttl: record.ttl,
        })
        .collect();
    let rcode = message.metadata.response_code;
    let nodata =
        rcode == ResponseCode::NoError && !answers.iter().any(|answer| answer.rtype == qtype.to_string());
    let cname_chain = cname_chain(candidate, &answers);
    steps.push(TraceStep {
        rcode: Some(rcode_name(rcode)),
        nodata,
        truncated: message.metadata.truncation,
        answers,
        cname_chain,
        ..base
    });
}

/// The CNAME chain from `candidate`: the candidate, then each target in turn (empty
/// when there is no CNAME).
#[must_use]
pub fn cname_chain(candidate: &str, answers: &[DnsAnswer]) -> Vec<String> {
    let mut chain = vec![candidate.to_owned()];
    while chain.len() <= answers.len() {
        let Some(current) = chain.last() else { break };
        let next = answers
            .iter()
            .find(|answer| answer.rtype == "CNAME" && answer.name.eq_ignore_ascii_case(current))
            .map(|answer| trim_dot(&answer.data));
        match next {
            Some(target) if !chain.contains(&target) => chain.push(target),
            _ => break,
        }
    }
    if chain.len() == 1 { Vec::new() } else { chain }
}

/// `NOERROR`, `NXDOMAIN`, … as dig prints them.
#[must_use]
pub fn rcode_name(code: ResponseCode) -> String {
    super::packet::rcode_name(u16::from(code)).into_owned()
}

fn record_data(data: &RData) -> String {
    match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(aaaa) => aaaa.0.to_string(),
        RData::CNAME(cname) => trim_dot(&cname.0.to_ascii()),
        other => other.to_string(),
    }
}

fn trim_dot(name: &str) -> String {
    if name == "." { name.to_owned() } else { name.trim_end_matches('.').to_lowercase() }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

#[cfg(test)]
mod tests;
