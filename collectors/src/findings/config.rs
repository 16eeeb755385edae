//! Per-rule settings: the rule's defaults, overridden by `[findings]` in the config.

use std::collections::BTreeMap;

use super::Rule;

/// What the config says about one rule; unset fields keep the rule's defaults.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RuleOverride {
    /// `enabled = false` turns the rule off.
    pub enabled: Option<bool>,
    /// The debounce.
    pub debounce: Option<time::Duration>,
    /// The hold time.
    pub hold: Option<time::Duration>,
    /// Thresholds by name.
    pub thresholds: BTreeMap<String, f64>,
}

/// The `[findings]` settings: overrides by rule id.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct FindingsConfig {
    /// Overrides by rule id (ids are checked against the rules when the config is read).
    pub rules: BTreeMap<String, RuleOverride>,
}

/// One rule's settings in effect.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleConfig {
    /// Whether the rule runs.
    pub enabled: bool,
    /// How long the condition must hold before the finding opens.
    pub debounce: time::Duration,
    /// How long it must stay clear before the finding closes.
    pub hold: time::Duration,
    thresholds: BTreeMap<&'static str, f64>,
}

impl RuleConfig {
    /// The rule's defaults with `overrides` applied.
    #[must_use]
    pub fn new(rule: &Rule, overrides: Option<&RuleOverride>) -> Self {
        let thresholds = rule
            .thresholds
            .iter()
            .map(|threshold| {
                let value = overrides.and_then(|o| o.thresholds.get(threshold.name)).copied();
                (threshold.name, value.unwrap_or(threshold.default))
            })
            .collect();
        Self {
            enabled: overrides.and_then(|o| o.enabled).unwrap_or(true),
            debounce: overrides.and_then(|o| o.debounce).unwrap_or(rule.debounce),
            hold: overrides.and_then(|o| o.hold).unwrap_or(rule.hold),
            thresholds,
        }
    }

    /// The rule's defaults.
    #[must_use]
    pub fn defaults(rule: &Rule) -> Self {
        Self::new(rule, None)
    }

    /// A threshold's value. A name the rule does not declare is a bug in the rule,
    /// caught by its tests: it reads as 0.
    #[must_use]
    pub fn threshold(&self, name: &str) -> f64 {
        debug_assert!(self.thresholds.contains_key(name), "undeclared threshold {name}");
        self.thresholds.get(name).copied().unwrap_or(0.0)
    }
}

impl FindingsConfig {
    /// The settings in effect for `rule`.
    #[must_use]
    pub fn for_rule(&self, rule: &Rule) -> RuleConfig {
        RuleConfig::new(rule, self.rules.get(rule.id))
    }
}
