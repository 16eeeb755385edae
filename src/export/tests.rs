use netlens_collectors::fake;

use super::*;

fn doc() -> Snapshot {
    Snapshot::from_store(&fake::store(), fake::NOW)
}

fn json(doc: &Snapshot) -> serde_json::Value {
    let mut out = Vec::new();
    write_json(doc, &mut out).unwrap_or_else(|e| panic!("{e}"));
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}"))
}

fn rendered(doc: &Snapshot, render: fn(&Snapshot, &mut dyn Write) -> io::Result<()>) -> String {
    let mut out = Vec::new();
    render(doc, &mut out).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn snapshot_has_every_schema_section() {
    let value = json(&doc());
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["taken_at"], "2026-03-14T09:26:53Z");
    for key in ["host", "sources", "interfaces", "routes", "rules", "neighbors", "events"] {
        assert!(!value[key].is_null(), "{key} missing");
    }
    let eth0 = &value["interfaces"][1];
    assert_eq!(eth0["name"], "eth0");
    assert_eq!(eth0["kind"], "ethernet");
    assert_eq!(eth0["oper_state"], "up");
    assert!(eth0["rates"]["rx_bytes_per_s"].as_f64().is_some_and(|r| r > 0.0));
    assert!(eth0["stats"]["rx_bytes"].as_u64().is_some_and(|r| r > 0));
    assert_eq!(eth0["addresses"][0]["family"], "ipv4");
    let default = &value["routes"][0];
    assert_eq!(default["prefix_len"], 0);
    assert_eq!(default["destination"], "0.0.0.0");
    assert_eq!(default["type"], "unicast");
    assert_eq!(value["events"][0]["source"], "interfaces");
}

#[test]
fn json_reads_back_into_the_same_document() {
    let doc = doc();
    let text = rendered(&doc, write_json);
    assert!(text.ends_with("}\n"));
    let back: Snapshot = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    // Fields the schema leaves out (a route's interface index) do not come back, so
    // compare what is written.
    assert!(rendered(&back, write_json) == text, "the document re-serialises differently");
}

#[test]
fn the_dns_section_has_config_traces_queries_and_health() {
    let value = json(&doc());
    let dns = &value["dns"];
    assert_eq!(dns["config"]["search"], serde_json::json!(["corp.test", "lab.test"]));
    assert!(dns["config"]["stub"].as_bool().unwrap_or_default());
    assert!(!dns["warnings"].as_array().cloned().unwrap_or_default().is_empty());
    let trace = &dns["traces"][0];
    assert!(trace["steps"][0]["server"].as_str().is_some_and(|s| s.ends_with(":53")), "{trace}");
    assert!(trace["steps"][0]["latency_ms"].is_number());
    assert!(dns["queries"].as_array().is_some_and(|q| !q.is_empty()));
    assert!(dns["servers"][0]["p50_ms"].is_number() || dns["servers"][0]["p50_ms"].is_null());

    let md = rendered(&doc(), write_markdown);
    for expected in
        ["## DNS", "### Servers", "### Traces", "### Recent queries", "- search: corp.test lab.test"]
    {
        assert!(md.contains(expected), "{expected} missing");
    }
}

#[test]
fn markdown_renders_every_section() {
    let md = rendered(&doc(), write_markdown);
    for heading in [
        "# netlens snapshot of devbox",
        "## Interfaces",
        "## Routes",
        "## Policy rules",
        "## Neighbours",
        "## Events",
    ] {
        assert!(md.contains(heading), "{heading}");
    }
    assert!(md.contains("| main | unicast | default | 192.168.1.1 | eth0 |"));
    assert!(md.contains("| 2 | eth0 | ethernet | up | yes | 1500 | 52:54:00:12:34:56 |"));
}

#[test]
fn markdown_numbers_read_as_in_the_tui() {
    let doc = doc();
    let md = rendered(&doc, write_markdown);
    let firefox = doc.connections.iter().find(|c| c.process.as_deref() == Some("firefox"));
    let firefox = firefox.unwrap_or_else(|| panic!("the firefox connection"));
    let rate = netlens_ui::format::Rate(firefox.rx_bytes_per_s).to_string();
    let rtt = netlens_ui::format::Millis(firefox.tcp.map(|tcp| tcp.rtt_ms)).to_string();
    assert_eq!((rate.as_str(), rtt.as_str()), ("1.45 MB/s", "23.4ms"));
    let row = md.lines().find(|line| line.contains("| 93.184.215.14:443 (")).unwrap_or_default();
    assert!(row.contains(&format!("| {rate} |")) && row.contains(&format!("| {rtt} |")), "{row}");
}

#[test]
fn connections_are_exported_with_their_tcp_facts() {
    let value = json(&doc());
    let connections = value["connections"].as_array().cloned().unwrap_or_default();
    assert!(connections.len() >= 15, "{}", connections.len());
    let firefox = connections
        .iter()
        .find(|c| c["remote"] == "93.184.215.14:443")
        .unwrap_or_else(|| panic!("the firefox connection"));
    assert_eq!(firefox["protocol"], "tcp");
    assert_eq!(firefox["state"], "established");
    assert_eq!(firefox["local"], "192.168.1.23:51514");
    assert_eq!(firefox["remote_name"], "example.org");
    assert_eq!(firefox["process"], "firefox");
    assert_eq!(firefox["pid"], 2210);
    assert!((firefox["tcp"]["rtt_ms"].as_f64().unwrap_or_default() - 23.4).abs() < 1e-9);
    assert!((firefox["rx_bytes_per_s"].as_f64().unwrap_or_default() - 1_450_000.0).abs() < 1e-6);
    let v6 = connections.iter().find(|c| c["family"] == "ipv6" && c["state"] == "established");
    assert!(v6.is_some_and(|c| {
        c["remote"].as_str().is_some_and(|r| r.starts_with('[') && r.ends_with("]:443"))
    }));
    let stalled = connections.iter().find(|c| c["process"] == "rsync").cloned().unwrap_or_default();
    assert_eq!(stalled["warnings"], serde_json::json!(["stalled", "high_retransmits"]));
    let scan = connections.iter().find(|c| c["process"] == "nmap").cloned().unwrap_or_default();
    assert_eq!(scan["label"], "burst of 5 short connections");
    assert!(scan["closed_at"].is_string());
    let listener = connections.iter().find(|c| c["state"] == "listen").cloned().unwrap_or_default();
    assert!(listener["tcp"].is_null() && listener["remote"] == "0.0.0.0:0");
    let udp = connections.iter().find(|c| c["state"] == "unconnected").cloned().unwrap_or_default();
    assert_eq!(udp["protocol"], "udp");
}

#[test]
fn csv_has_a_header_and_one_row_per_connection() {
    let mut doc = doc();
    let text = rendered(&doc, write_csv);
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), doc.connections.len() + 1);
    assert!(lines[0].starts_with("protocol,family,state,local,remote,remote_name"));
    assert!(lines.iter().any(|l| l.starts_with(
        "tcp,ipv4,established,192.168.1.23:51514,93.184.215.14:443,example.org,,2210,firefox,ana,1450000.0,"
    )));
    assert!(
        lines.iter().any(|l| l.contains(",\"sshd: /usr/sbin/sshd") || l.contains(",sshd,")),
        "fields with commas are quoted"
    );
    assert_eq!(csv::field("a,b \"c\""), "\"a,b \"\"c\"\"\"");
    redact(&mut doc);
    let redacted = rendered(&doc, write_csv);
    for secret in ["192.168.1.23", "example.org", ",ana,"] {
        assert!(!redacted.contains(secret), "{secret} leaked into the redacted CSV");
    }
}

#[test]
fn markdown_says_what_each_cut_list_left_out() {
    let mut doc = doc();
    let kept = doc.dns.queries.len() as u64;
    doc.dns.queries_total = 3_519;
    doc.dns.traces_total = doc.dns.traces.len() as u64 + 10;
    doc.events_total = doc.events.len() as u64 + 1_000;
    doc.events_folded = 12;
    if let Some(first) = doc.events.first_mut() {
        first.count = 3;
        first.last_at = Some(fake::NOW);
    }
    let md = rendered(&doc, write_markdown);
    assert!(
        md.contains("(×3, the last at 2026-03-14T09:26:53Z) |"),
        "a folded line says when it last happened"
    );
    let count = |n: u64| netlens_ui::format::Count(n).to_string();
    for expected in [
        format!("The newest {} of {} queries seen, by send time.", count(kept), count(3_519)),
        format!(
            "The newest {} of {} traces.",
            count(doc.dns.traces.len() as u64),
            count(doc.dns.traces_total)
        ),
        format!("The newest {} of {} lines.", count(doc.events.len() as u64), count(doc.events_total)),
        "12 repeated events folded".to_owned(),
    ] {
        assert!(md.contains(&expected), "{expected:?} missing");
    }

    // Nothing cut, nothing said.
    let whole = rendered(&self::doc(), write_markdown);
    assert!(!whole.contains("The newest"), "a whole list claimed a cut");
}

#[test]
fn the_capture_section_is_null_without_a_capture_and_counts_with_one() {
    let mut doc = doc();
    assert!(json(&doc)["capture"].is_null(), "the scripted store runs no capture");
    assert!(!rendered(&doc, super::markdown::write).contains("## Capture"));
    doc.capture = Some(netlens_collectors::model::CaptureTotals {
        packets: 1_234_567,
        dropped: 12,
        interfaces: vec![
            netlens_collectors::model::InterfaceCapture {
                name: "eth0".into(),
                packets: 1_234_000,
                dropped: 12,
            },
            netlens_collectors::model::InterfaceCapture { name: "lo".into(), packets: 567, dropped: 0 },
        ],
    });
    let value = json(&doc);
    assert_eq!(value["capture"]["packets"], 1_234_567);
    assert_eq!(value["capture"]["dropped"], 12);
    assert_eq!(
        value["capture"]["interfaces"][1],
        serde_json::json!({ "name": "lo", "packets": 567, "dropped": 0 })
    );
    let markdown = rendered(&doc, super::markdown::write);
    assert!(markdown.contains("## Capture"), "{markdown}");
    assert!(markdown.contains("| eth0 | 1 234 000 | 12 |"), "{markdown}");
}

/// Findings are the report's first section, each with its evidence, cause and fix;
/// a healthy store says there are none.
#[test]
fn markdown_opens_with_the_findings() {
    use netlens_collectors::model::{Evidence, Finding, Severity};
    let mut doc = doc();
    // The scripted session has findings of its own; the healthy report has none.
    doc.findings.clear();
    let healthy = rendered(&doc, write_markdown);
    assert!(healthy.contains("## Findings\n\nNone: no rule found a problem."), "{healthy}");
    doc.findings.push(Finding {
        id: "listen_overflow:tcp 0.0.0.0:8080".into(),
        rule: "listen_overflow".into(),
        severity: Severity::Critical,
        title: "listener 0.0.0.0:8080 (nginx (pid 812)) drops connections".into(),
        subject: "tcp 0.0.0.0:8080".into(),
        evidence: vec![Evidence::new("TcpExtListenOverflows, last 1.0 s", "+37")],
        cause: "nginx accepts slower than connections arrive".into(),
        fix: "sysctl -w net.core.somaxconn=4096".into(),
        opened_at: fake::NOW,
        closed_at: None,
    });
    let md = rendered(&doc, write_markdown);
    let findings = md.find("## Findings").unwrap_or_else(|| panic!("no findings section"));
    let sources = md.find("## Sources").unwrap_or_else(|| panic!("no sources section"));
    assert!(findings < sources && md[..findings].matches("\n## ").count() == 0, "the first section");
    assert!(md.contains("1 open, 0 recently closed."));
    assert!(md.contains("### critical: listener 0.0.0.0:8080"));
    assert!(md.contains("| TcpExtListenOverflows, last 1.0 s | +37 |"));
    assert!(md.contains("Fix: `sysctl -w net.core.somaxconn=4096`"));
}
