//! The redaction walk over the typed snapshot: which field holds what kind of fact.
//! Addresses are replaced as addresses, names of remote hosts and users as whole
//! words, the DNS section's domain names as names, and every other free text by the
//! text rules (address-like tokens, MACs, the hostname as a word).

use std::net::{IpAddr, SocketAddr};

use netlens_collectors::model::{DnsTrace, Interface, PathState, ResolverConfig};
use netlens_collectors::snapshot::{ConnectionDoc, DnsSection, Snapshot};

use super::{Pseudonym, Redactor};

/// Redact a snapshot in place, using its own hostname.
pub fn redact(snapshot: &mut Snapshot) {
    let hostname = snapshot.host.hostname.clone();
    Redactor::new(&hostname).redact_snapshot(snapshot);
}

impl Redactor {
    /// Redact every identifying fact of `doc`, in place.
    pub fn redact_snapshot(&mut self, doc: &mut Snapshot) {
        self.text(&mut doc.host.hostname);
        self.text(&mut doc.host.kernel);
        self.optional_text(&mut doc.host.netns);
        for source in &mut doc.sources {
            self.text(&mut source.detail);
        }
        for finding in &mut doc.findings {
            // Subjects, evidence and fixes quote addresses and names like any text.
            for text in [&mut finding.subject, &mut finding.title, &mut finding.cause, &mut finding.fix] {
                self.text(text);
            }
            for evidence in &mut finding.evidence {
                self.text(&mut evidence.fact);
                self.text(&mut evidence.value);
            }
            finding.id = format!("{}:{}", finding.rule, finding.subject);
        }
        for entry in &mut doc.interfaces {
            self.interface(&mut entry.interface);
        }
        for route in &mut doc.routes {
            self.ip(&mut route.destination);
            self.optional_ip(&mut route.gateway);
            self.optional_text(&mut route.interface);
            self.optional_ip(&mut route.source);
            self.text(&mut route.protocol);
        }
        for rule in &mut doc.rules {
            self.text(&mut rule.selector);
            self.text(&mut rule.action);
        }
        for neighbor in &mut doc.neighbors {
            self.text(&mut neighbor.interface);
            self.ip(&mut neighbor.address);
            self.optional_text(&mut neighbor.mac);
        }
        for path in &mut doc.paths {
            self.path(path);
        }
        self.dns(&mut doc.dns);
        for connection in &mut doc.connections {
            self.connection(connection);
        }
        // Destinations are addresses like any other; the counters identify nothing.
        for destination in doc.kernel.iter_mut().flat_map(|kernel| &mut kernel.ports.busiest) {
            self.endpoint(&mut destination.remote);
        }
        for event in &mut doc.events {
            self.text(&mut event.subject);
            self.text(&mut event.detail);
        }
    }

    fn interface(&mut self, interface: &mut Interface) {
        self.text(&mut interface.name);
        self.optional_text(&mut interface.link_kind);
        self.optional_text(&mut interface.mac);
        for address in &mut interface.addresses {
            self.ip(&mut address.address);
            self.optional_text(&mut address.label);
        }
    }

    fn path(&mut self, path: &mut PathState) {
        self.text(&mut path.target);
        self.optional_text(&mut path.reason_subject);
        self.optional_ip(&mut path.destination);
        self.optional_text(&mut path.interface);
        self.optional_ip(&mut path.source);
        self.optional_ip(&mut path.gateway);
        self.optional_text(&mut path.matched_prefix);
        for check in &mut path.checks {
            self.text(&mut check.detail);
        }
        if let Some(probe) = &mut path.probe {
            self.optional_text(&mut probe.error);
        }
        for attempt in &mut path.attempts {
            self.endpoint(&mut attempt.address);
            self.optional_text(&mut attempt.error);
        }
        for transition in &mut path.transitions {
            self.text(&mut transition.detail);
        }
    }

    /// The DNS section names what this host looks up: its words go as domain names.
    fn dns(&mut self, dns: &mut DnsSection) {
        if let Some(config) = &mut dns.config {
            self.resolver_config(config);
        }
        self.dns_words(&mut dns.warnings);
        for trace in &mut dns.traces {
            self.trace(trace);
        }
        for query in &mut dns.queries {
            self.optional_dns_text(&mut query.process);
            self.dns_in_place(&mut query.name);
            self.dns_in_place(&mut query.qtype);
            self.endpoint(&mut query.server);
            self.endpoint(&mut query.client);
            self.optional_dns_text(&mut query.rcode);
        }
        for server in &mut dns.servers {
            self.ip(&mut server.server);
        }
        if let Some(dns64) = &mut dns.dns64 {
            self.optional_dns_text(&mut dns64.prefix);
        }
    }

    fn resolver_config(&mut self, config: &mut ResolverConfig) {
        for server in &mut config.nameservers {
            self.ip(server);
        }
        self.dns_words(&mut config.search);
        self.dns_words(&mut config.options);
        for server in &mut config.upstreams {
            self.ip(server);
        }
        self.dns_words(&mut config.hosts_order);
        self.dns_words(&mut config.gai_rules);
        self.dns_words(&mut config.sources);
    }

    fn trace(&mut self, trace: &mut DnsTrace) {
        self.dns_in_place(&mut trace.name);
        self.dns_words(&mut trace.candidates);
        self.optional_dns_text(&mut trace.answered_by);
        for address in &mut trace.result {
            self.ip(address);
        }
        self.optional_dns_text(&mut trace.error);
        for step in &mut trace.steps {
            self.dns_in_place(&mut step.candidate);
            self.endpoint(&mut step.server);
            if let Some(client) = &mut step.client {
                self.endpoint(client);
            }
            self.dns_in_place(&mut step.qtype);
            self.optional_dns_text(&mut step.rcode);
            for answer in &mut step.answers {
                self.dns_in_place(&mut answer.name);
                self.dns_in_place(&mut answer.rtype);
                self.dns_in_place(&mut answer.data);
            }
            self.dns_words(&mut step.cname_chain);
            self.optional_dns_text(&mut step.error);
        }
        if let Some(system) = &mut trace.system {
            for address in &mut system.addresses {
                self.ip(address);
            }
            self.optional_dns_text(&mut system.error);
        }
        self.dns_words(&mut trace.differences);
    }

    /// Who this host talks to and who runs what identify people too.
    fn connection(&mut self, connection: &mut ConnectionDoc) {
        self.endpoint(&mut connection.local);
        self.endpoint(&mut connection.remote);
        if let Some(name) = &mut connection.remote_name {
            *name = self.pseudonym(Pseudonym::Name, name);
        }
        self.optional_text(&mut connection.interface);
        self.optional_text(&mut connection.process);
        if let Some(user) = &mut connection.user {
            *user = self.pseudonym(Pseudonym::User, user);
        }
        self.optional_text(&mut connection.congestion);
        for warning in &mut connection.warnings {
            self.text(warning);
        }
        self.optional_text(&mut connection.label);
    }

    fn text(&mut self, text: &mut String) {
        *text = self.redact_text(text);
    }

    fn optional_text(&mut self, text: &mut Option<String>) {
        if let Some(text) = text {
            self.text(text);
        }
    }

    fn dns_in_place(&mut self, text: &mut String) {
        *text = self.dns_text(text);
    }

    fn optional_dns_text(&mut self, text: &mut Option<String>) {
        if let Some(text) = text {
            self.dns_in_place(text);
        }
    }

    fn dns_words(&mut self, words: &mut [String]) {
        for word in words {
            self.dns_in_place(word);
        }
    }

    pub(super) fn ip(&mut self, address: &mut IpAddr) {
        *address = self.address(*address);
    }

    fn optional_ip(&mut self, address: &mut Option<IpAddr>) {
        if let Some(address) = address {
            self.ip(address);
        }
    }

    /// An endpoint keeps its port (and an IPv6 scope); only the address goes.
    pub(super) fn endpoint(&mut self, endpoint: &mut SocketAddr) {
        endpoint.set_ip(self.address(endpoint.ip()));
    }
}
