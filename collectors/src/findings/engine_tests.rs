use super::*;
use crate::Store;
use crate::model::{Severity, Timestamp};

fn never(_: &Store, _: &RuleConfig) -> Verdict {
    Verdict::NotApplicable
}

const RULE: Rule = Rule {
    id: "test_rule",
    family: "test",
    summary: "a rule for the engine's tests",
    debounce: time::Duration::seconds(2),
    hold: time::Duration::seconds(5),
    thresholds: &[],
    evaluate: never,
};

fn at(seconds: i64) -> Stamp {
    Stamp {
        wall: Timestamp::UNIX_EPOCH + time::Duration::seconds(1_700_000_000 + seconds),
        mono: Mono::ZERO + time::Duration::seconds(seconds),
    }
}

fn found(subjects: &[&str]) -> Verdict {
    Verdict::Found(
        subjects
            .iter()
            .map(|subject| Candidate {
                subject: (*subject).to_owned(),
                severity: Severity::Warning,
                title: format!("{subject} is wrong"),
                evidence: Vec::new(),
                cause: String::new(),
                fix: String::new(),
            })
            .collect(),
    )
}

/// (second, subjects the rule sees) → subjects open after it, and timeline lines.
fn run(steps: &[(i64, &[&str])]) -> Vec<(Vec<String>, usize)> {
    let mut findings = Findings::default();
    let config = RuleConfig::defaults(&RULE);
    steps
        .iter()
        .map(|(second, subjects)| {
            let notices = findings.update(&RULE, &config, found(subjects), at(*second));
            (findings.open().iter().map(|f| f.subject.clone()).collect(), notices.len())
        })
        .collect()
}

#[test]
fn opens_after_the_debounce_and_closes_after_the_hold() {
    let a: &[&str] = &["a"];
    let none: &[&str] = &[];
    let steps = run(&[(0, a), (1, a), (2, a), (3, none), (7, none), (8, none), (9, none)]);
    let open: Vec<bool> = steps.iter().map(|(open, _)| !open.is_empty()).collect();
    assert_eq!(open, [false, false, true, true, true, false, false], "{steps:?}");
    let lines: Vec<usize> = steps.iter().map(|(_, lines)| *lines).collect();
    assert_eq!(lines, [0, 0, 1, 0, 0, 1, 0], "one line when it opens, one when it closes");
}

/// A condition that clears before its debounce restarts it; one that comes back
/// during the hold keeps the finding open (no close, no second open).
#[test]
fn flapping_neither_opens_early_nor_closes_early() {
    let a: &[&str] = &["a"];
    let none: &[&str] = &[];
    let steps = run(&[
        (0, a),
        (1, none),
        (2, a),
        (3, a),
        (4, a),
        (5, none),
        (8, a),
        (12, none),
        (16, none),
        (17, none),
    ]);
    let open: Vec<bool> = steps.iter().map(|(open, _)| !open.is_empty()).collect();
    assert_eq!(open, [false, false, false, false, true, true, true, true, true, false], "{steps:?}");
    assert_eq!(steps.iter().map(|(_, lines)| lines).sum::<usize>(), 2);
}

#[test]
fn subjects_are_separate_findings() {
    let both: &[&str] = &["a", "b"];
    let b: &[&str] = &["b"];
    let steps = run(&[(0, both), (2, both), (3, b), (8, b)]);
    assert_eq!(steps[1].0, ["a", "b"]);
    assert_eq!(steps[3].0, ["b"]);
}

/// Closed findings keep their times; a disabled rule's or a rule with no inputs'
/// open finding closes like a clear one.
#[test]
fn closed_findings_keep_both_ends() {
    let mut findings = Findings::default();
    let config = RuleConfig::defaults(&RULE);
    findings.update(&RULE, &config, found(&["a"]), at(0));
    findings.update(&RULE, &config, found(&["a"]), at(2));
    findings.update(&RULE, &config, Verdict::NotApplicable, at(3));
    findings.update(&RULE, &config, Verdict::NotApplicable, at(8));
    let closed: Vec<&Finding> = findings.closed().collect();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].opened_at, at(2).wall);
    assert_eq!(closed[0].closed_at, Some(at(8).wall));
    assert_eq!(closed[0].id, "test_rule:a");
}

#[test]
fn most_severe_first_and_bounded_evaluation() {
    let mut findings = Findings::default();
    let mut config = RuleConfig::defaults(&RULE);
    config.debounce = time::Duration::ZERO;
    let mut verdict = found(&["mild", "bad"]);
    if let Verdict::Found(candidates) = &mut verdict {
        candidates[1].severity = Severity::Critical;
    }
    findings.update(&RULE, &config, verdict, at(0));
    let order: Vec<&str> = findings.open().iter().map(|f| f.subject.as_str()).collect();
    assert_eq!(order, ["bad", "mild"]);
    assert_eq!(findings.worst().map(|f| f.severity), Some(Severity::Critical));
    assert!(findings.due(Mono::ZERO));
    assert!(!findings.due(Mono::ZERO + time::Duration::milliseconds(499)));
    assert!(findings.due(Mono::ZERO + EVALUATE_EVERY));
}

#[test]
fn a_condition_inside_its_debounce_is_pending_not_open() {
    let mut findings = Findings::default();
    let config = RuleConfig::defaults(&RULE);
    let _ = findings.update(&RULE, &config, found(&["eth0", "eth1"]), at(0));
    assert_eq!((findings.open().len(), findings.pending()), (0, 2));
    let _ = findings.update(&RULE, &config, found(&["eth0"]), at(2));
    assert_eq!((findings.open().len(), findings.pending()), (1, 0), "one opened, the other cleared");
}
