//! The interactive route lookup (`ip route get` from the Paths tab).

use std::net::IpAddr;

use crate::model::{RouteLookupReport, RouteType, Timestamp};

use super::super::lookup::{RouteAnswer, RouteQuery};
use super::super::query::LookupRequest;
use super::super::rules::{self, RuleQuery};
use super::Evaluator;

impl Evaluator {
    /// The interactive route lookup, with the rule and table that decided it.
    pub(super) async fn answer(&mut self, request: &LookupRequest) -> RouteLookupReport {
        let at = Timestamp::now_utc();
        let query_text = request.to_string();
        // A fresh view of the rules and interfaces: the user asks about now.
        match self.kernel.refresh().await {
            Ok(view) => self.view = view,
            Err(error) => tracing::debug!(%error, "could not re-read the network before a route lookup"),
        }
        let oif = match request.via.as_deref() {
            None => None,
            Some(name) => match self.view.table.interfaces.iter().find(|link| link.name == name) {
                Some(link) => Some(link.index),
                None => {
                    return RouteLookupReport {
                        query: query_text,
                        at,
                        answer: Err(format!("via={name}: no such interface")),
                        rule: None,
                        table: None,
                        matched_prefix: None,
                    };
                }
            },
        };
        let query =
            RouteQuery { destination: request.destination, oif, mark: request.mark, source: request.from };
        let answer = match self.kernel.lookup_many(vec![query]).await {
            Ok(mut answers) => {
                answers.pop().unwrap_or_else(|| Err(std::io::Error::other("no answer").into()))
            }
            Err(error) => Err(std::io::Error::other(error.to_string()).into()),
        };
        match answer {
            Ok(answer) => {
                let rule_query = RuleQuery {
                    destination: request.destination,
                    source: request.from,
                    mark: request.mark.unwrap_or(0),
                    oif: request.via.as_deref(),
                };
                let rule = rules::matching_rule(&self.view.table.rules, &rule_query, answer.table)
                    .map(rules::describe);
                RouteLookupReport {
                    query: query_text,
                    at,
                    answer: Ok(ip_route_get(request.destination, &answer)),
                    rule,
                    table: Some(crate::model::Route::table_name(answer.table)),
                    matched_prefix: answer.matched_prefix.map(|(address, len)| format!("{address}/{len}")),
                }
            }
            Err(error) => RouteLookupReport {
                query: query_text,
                at,
                answer: Err(error.to_string()),
                rule: None,
                table: None,
                matched_prefix: None,
            },
        }
    }
}

/// The answer as `ip route get` prints it.
fn ip_route_get(destination: IpAddr, answer: &RouteAnswer) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    if answer.route_type != RouteType::Unicast {
        let _ = write!(text, "{} ", answer.route_type.as_str());
    }
    let _ = write!(text, "{destination}");
    if let Some(gateway) = answer.gateway {
        let _ = write!(text, " via {gateway}");
    }
    match (&answer.interface, answer.interface_index) {
        (Some(name), _) => {
            let _ = write!(text, " dev {name}");
        }
        (None, Some(index)) => {
            let _ = write!(text, " dev #{index}");
        }
        (None, None) => {}
    }
    let _ = write!(text, " table {}", crate::model::Route::table_name(answer.table));
    if let Some(source) = answer.source {
        let _ = write!(text, " src {source}");
    }
    if let Some(mark) = answer.mark.filter(|mark| *mark != 0) {
        let _ = write!(text, " mark {mark:#x}");
    }
    if let Some(metric) = answer.metric {
        let _ = write!(text, " metric {metric}");
    }
    text
}
