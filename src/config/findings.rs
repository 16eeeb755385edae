//! `[findings]`: rules turned off by id, and per-rule debounce, hold and thresholds,
//! each checked against the rules netlens has so a typo names its key.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use netlens_collectors::findings::{FindingsConfig, RULES, Rule, RuleOverride, rule};
use toml::Spanned;

use super::check::Checker;
use super::error::ConfigError;
use super::ranges::Bounds;

/// A rule's debounce and hold: up to an hour.
pub const TIMES: Bounds<Duration> = Bounds { min: Duration::ZERO, max: Duration::from_secs(3600) };

/// Every rule id, for the hint of a wrong one.
/// The largest threshold accepted (seconds, counts, percents alike).
const MAX_THRESHOLD: f64 = 1e9;

/// How to name a rule instead of `wrong`: the closest id when one is close (a typo),
/// else where the list is. Thirty-odd ids are too many for one error line.
fn ids_for(wrong: &str) -> String {
    let closest = RULES
        .iter()
        .map(|rule| (strsim::jaro_winkler(wrong, rule.id), rule.id))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score >= 0.85);
    let count = RULES.len();
    closest.map_or_else(
        || {
            format!(
                "use a rule id that `netlens config template` lists ({count} rules, e.g. listen_overflow)"
            )
        },
        |(_, id)| format!("did you mean `{id}`? (`netlens config template` lists all {count} rules)"),
    )
}

/// The keys a rule's table may hold.
fn keys(rule: &Rule) -> String {
    let mut keys = vec!["enabled", "debounce", "hold"];
    keys.extend(rule.thresholds.iter().map(|threshold| threshold.name));
    keys.join(", ")
}

/// Check the `[findings]` table and turn it into the rules' overrides.
pub fn findings(
    check: &Checker<'_>,
    section: &BTreeMap<String, Spanned<toml::Value>>,
) -> Result<FindingsConfig, ConfigError> {
    let mut config = FindingsConfig::default();
    for (key, value) in section {
        if key == "disabled" {
            for id in disabled(check, value)? {
                config.rules.entry(id).or_default().enabled = Some(false);
            }
            continue;
        }
        let Some(rule) = rule(key) else {
            return Err(check.error(
                &format!("findings.{key}"),
                value,
                format!("[findings.{key}]"),
                format!("netlens has no rule `{key}`"),
                ids_for(key),
            ));
        };
        let Some(table) = value.get_ref().as_table() else {
            return Err(check.error(
                &format!("findings.{key}"),
                value,
                value.get_ref().to_string(),
                "must be a table".to_owned(),
                format!("write [findings.{key}] with keys {}", keys(rule)),
            ));
        };
        let overrides = config.rules.entry(key.clone()).or_default();
        rule_table(check, rule, value, table, overrides)?;
    }
    Ok(config)
}

fn disabled(check: &Checker<'_>, value: &Spanned<toml::Value>) -> Result<Vec<String>, ConfigError> {
    let wrong = |problem: String, near: &str| {
        check.error(
            "findings.disabled",
            value,
            value.get_ref().to_string(),
            problem,
            format!("list rule ids, e.g. disabled = [\"time_wait_pileup\"]; {}", ids_for(near)),
        )
    };
    let Some(list) = value.get_ref().as_array() else {
        return Err(wrong("must be a list of rule ids".to_owned(), ""));
    };
    list.iter()
        .map(|item| match item.as_str() {
            Some(id) if rule(id).is_some() => Ok(id.to_owned()),
            Some(id) => Err(wrong(format!("netlens has no rule `{id}`"), id)),
            None => Err(wrong(format!("{item} is not a rule id"), "")),
        })
        .collect()
}

fn rule_table(
    check: &Checker<'_>,
    rule: &Rule,
    at: &Spanned<toml::Value>,
    table: &toml::Table,
    overrides: &mut RuleOverride,
) -> Result<(), ConfigError> {
    for (name, value) in table {
        let key = format!("findings.{}.{name}", rule.id);
        let shown = value.to_string();
        let wrong =
            |problem: &str, hint: String| check.error(&key, at, shown.clone(), problem.to_owned(), hint);
        match name.as_str() {
            "enabled" => {
                overrides.enabled = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| wrong("must be true or false", format!("write {name} = false")))?,
                );
            }
            "debounce" | "hold" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| wrong("must be a duration", format!("write {name} = \"30s\"")))?;
                let spanned = Spanned::new(at.span(), text.to_owned());
                let parsed = check.duration(&key, Some(&spanned), Duration::ZERO, TIMES)?;
                let parsed = time::Duration::try_from(parsed).unwrap_or(time::Duration::ZERO);
                if name == "debounce" {
                    overrides.debounce = Some(parsed);
                } else {
                    overrides.hold = Some(parsed);
                }
            }
            _ if rule.thresholds.iter().any(|threshold| threshold.name == name) => {
                #[expect(clippy::cast_precision_loss, reason = "a threshold written as a whole number")]
                let number = value.as_float().or_else(|| value.as_integer().map(|n| n as f64));
                // Bounded: a window of 1e12 s would reach before the calendar's start.
                let number =
                    number.filter(|n| n.is_finite() && (0.0..=MAX_THRESHOLD).contains(n)).ok_or_else(
                        || wrong("must be a number from 0 to 1000000000", format!("write e.g. {name} = 80")),
                    )?;
                overrides.thresholds.insert(name.clone(), number);
            }
            _ => {
                return Err(wrong(
                    &format!("rule `{}` has no setting `{name}`", rule.id),
                    format!("its settings are: {}", keys(rule)),
                ));
            }
        }
    }
    Ok(())
}

/// The template's `[findings]` part: every rule with its defaults, commented out.
pub fn template() -> String {
    let mut text = String::from(
        "[findings]\n# Rules to turn off, by id.\ndisabled = []\n# Per rule: debounce (how long its condition must hold before the finding\n# opens), hold (how long it must stay clear before it closes), its thresholds.\n",
    );
    for rule in RULES {
        let _ = write!(
            text,
            "# [findings.{}]  # {}\n# debounce = \"{}\"\n# hold = \"{}\"\n",
            rule.id,
            rule.summary,
            crate::duration::format(Duration::try_from(rule.debounce).unwrap_or_default()),
            crate::duration::format(Duration::try_from(rule.hold).unwrap_or_default()),
        );
        for threshold in rule.thresholds {
            let _ = writeln!(text, "# {} = {}  # {}", threshold.name, threshold.default, threshold.doc);
        }
    }
    text
}
