//! Encoding families with prometheus-client: OpenMetrics as the library writes it,
//! or the Prometheus text format (0.0.4) that `curl` users and older scrapers expect.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::{Family, Kind, Value};

/// The exposition format a scrape asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    #[must_use]
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format an `Accept` header asks for: OpenMetrics only when it names it (as
    /// Prometheus does), else the text format.
    #[must_use]
    pub fn from_accept(accept: Option<&str>) -> Self {
        if accept.is_some_and(|accept| accept.contains("application/openmetrics-text")) {
            Self::OpenMetrics
        } else {
            Self::Prometheus
        }
    }
}

/// The families of one scrape, handed to the registry as a collector.
#[derive(Debug)]
struct Scrape(Vec<Family>);

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let kind = match family.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
                Kind::Histogram => MetricType::Histogram,
            };
            let mut metric = encoder.encode_descriptor(family.name, family.help, None, kind)?;
            match family.series.as_slice() {
                // A family of one unlabelled series: `name 3`, not `name{} 3`.
                [series] if series.labels.is_empty() => sample(family.kind, &series.value, metric)?,
                all => {
                    for series in all {
                        sample(family.kind, &series.value, metric.encode_family(&series.labels)?)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn sample(kind: Kind, value: &Value, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
    match (kind, value) {
        (_, Value::Histogram { sum, count, buckets }) => {
            encoder.encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)
        }
        (Kind::Counter, Value::Count(n)) => ConstCounter::new(*n).encode(encoder),
        (Kind::Counter, Value::Real(x)) => ConstCounter::new(*x).encode(encoder),
        (_, Value::Count(n)) => ConstGauge::new(*n).encode(encoder),
        (_, Value::Real(x)) => ConstGauge::new(*x).encode(encoder),
    }
}

/// `families` in `format`.
#[must_use]
pub fn render(families: Vec<Family>, format: Format) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape(families)));
    let mut text = String::new();
    // Writing into a String does not fail.
    let _ = prometheus_client::encoding::text::encode_registry(&mut text, &registry);
    match format {
        Format::OpenMetrics => {
            let _ = prometheus_client::encoding::text::encode_eof(&mut text);
            text
        }
        Format::Prometheus => text_format(&text),
    }
}

/// The Prometheus text format (0.0.4) of an OpenMetrics exposition without `# EOF`.
/// prometheus-client writes only OpenMetrics; the two differ, for the families
/// netlens has (counters and gauges, no units), only in a counter's `# HELP` and
/// `# TYPE` lines: OpenMetrics names the family (`x`), the text format the samples'
/// name (`x_total`).
fn text_format(open_metrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = open_metrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len() + 16 * counters.len());
    for line in open_metrics.lines() {
        let comment = line.strip_prefix("# HELP ").map(|rest| ("# HELP ", rest));
        let comment = comment.or_else(|| line.strip_prefix("# TYPE ").map(|rest| ("# TYPE ", rest)));
        match comment {
            Some((tag, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                out.push_str(tag);
                out.push_str(name);
                if counters.contains(name) {
                    out.push_str("_total");
                }
                out.push(' ');
                out.push_str(tail);
            }
            None if line.starts_with("# UNIT ") => continue,
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}
