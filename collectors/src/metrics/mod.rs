//! The daemon's metrics (issue 15, DESIGN.md §12): on each scrape, the store becomes
//! metric families ([`families`], a pure function of it) that prometheus-client
//! encodes ([`render`]). Labels are bounded by what the host has — interfaces,
//! targets, DNS servers, sources, rules, states — never a pid, a port or a connection.

mod families;
mod render;

pub use families::{BuildInfo, families};
pub use render::{Format, render};

/// One metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// Its name with the `netlens_` prefix; a counter's without the `_total` its
    /// samples get.
    pub name: &'static str,
    /// What it measures.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: Kind,
    /// Its series, one per label set.
    pub series: Vec<Series>,
}

/// A family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only ever grows (while its subject exists).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations counted by bucket ([`Value::Histogram`]).
    Histogram,
}

/// One series: its labels and its value now.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Label names and values.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: Value,
}

/// A sample's value: counts stay integers (a byte counter passes 2^53 on a busy host).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A count.
    Count(u64),
    /// A measurement.
    Real(f64),
    /// A histogram's sum, count and (upper bound, observations in that bucket), the
    /// last bound `f64::MAX` (+Inf).
    Histogram {
        /// The sum of the observations.
        sum: f64,
        /// How many there were.
        count: u64,
        /// Per bucket, not cumulative.
        buckets: Vec<(f64, u64)>,
    },
}

impl Family {
    /// The series whose labels are exactly `labels`, if any.
    #[must_use]
    pub fn series_with(&self, labels: &[(&str, &str)]) -> Option<&Series> {
        self.series.iter().find(|series| {
            series.labels.len() == labels.len()
                && labels.iter().all(|(key, value)| series.labels.iter().any(|(k, v)| k == key && v == value))
        })
    }
}

#[cfg(test)]
mod tests;
