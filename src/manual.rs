//! `netlens completions SHELL` and `netlens man`: the shell completions and the
//! manual page, both made from the command line's own definition (clap), so they
//! cannot drift from `--help`.

use std::io::Write as _;

use clap::CommandFactory as _;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;

/// Write the completion script for `shell` to standard output.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "netlens", &mut script);
    crate::stdout::emit(&String::from_utf8_lossy(&script))
}

/// Write the manual page (roff, section 1) to standard output: `netlens man | man -l -`.
pub fn man() -> anyhow::Result<()> {
    let page = page()?;
    crate::stdout::emit(&page)
}

/// The manual page: clap's sections, then the ones a manual page has that clap does
/// not know (exit status, environment, files, examples).
fn page() -> anyhow::Result<String> {
    let man = clap_mangen::Man::new(Cli::command()).manual("netlens manual");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    out.write_all(extra_sections().to_roff().as_bytes())?;
    man.render_version_section(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A paragraph of `.TP` items: a bold term and its text.
fn items(roff: &mut Roff, list: &[(&str, &str)]) {
    for (term, text) in list {
        roff.control("TP", []).text([bold(*term)]).text([roman(*text)]);
    }
}

fn extra_sections() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    items(
        &mut roff,
        &[
            (
                "0",
                "Success; for path, doctor and diff: every target satisfied, no finding open, no difference.",
            ),
            (
                "1",
                "A runtime failure; for path, doctor and diff: a target unsatisfied, a finding open, a difference; for trace: the name does not resolve; for record: the recording stopped early (a full disk).",
            ),
            (
                "2",
                "Bad usage, a bad config file, theme or input file (the message names the file, key or value), an output that cannot be written, a port in use.",
            ),
        ],
    );
    roff.control("SH", ["ENVIRONMENT"]);
    items(
        &mut roff,
        &[
            ("NO_COLOR", "When set (to anything), no colours."),
            ("NETLENS_LOG", "The log filter, e.g. debug or netlens_collectors=trace (default info)."),
            ("XDG_CONFIG_HOME", "Where the config file is looked for (default ~/.config)."),
            ("XDG_STATE_HOME", "Where the log file goes (default ~/.local/state)."),
        ],
    );
    roff.control("SH", ["FILES"]);
    items(
        &mut roff,
        &[
            (
                "$XDG_CONFIG_HOME/netlens/config.toml",
                "The config file, read if it exists; netlens config template prints a commented one.",
            ),
            (
                "$XDG_STATE_HOME/netlens/netlens.log",
                "The log (the TUI owns the terminal; the daemon logs to standard error).",
            ),
            (
                "/etc/netlens/config.toml",
                "The daemon's config file in the Debian package (netlens.service passes it with --config).",
            ),
            ("/var/lib/netlens/", "The journal netlens.service records (netlens replay /var/lib/netlens)."),
            (
                "/etc/netns/NAME/",
                "With --netns NAME: the namespace's resolv.conf, hosts and nsswitch.conf, as ip netns exec reads them.",
            ),
            (
                "*.nlj",
                "Journals written by netlens record and the flight recorder's incident bundles (format: docs/journal.md).",
            ),
        ],
    );
    roff.control("SH", ["EXAMPLES"]);
    let examples: &[(&str, &str)] = &[
        ("sudo netlens", "The TUI, with every source and process attribution."),
        (
            "netlens --target db.internal:5432 path",
            "Say whether traffic to the database can leave and works; exit 1 if not.",
        ),
        ("netlens trace example.com", "Resolve a name step by step, as glibc does."),
        (
            "netlens snapshot --redact -o snapshot.json",
            "Collect for a moment and write everything, addresses redacted.",
        ),
        (
            "sudo netlens record -o /var/tmp/netlens/ -d 8h",
            "Record the night into rotating segments; replay it with netlens replay.",
        ),
        ("netlens diff before.json after.json", "What changed between two snapshots."),
        (
            "sudo netlens daemon --record /var/lib/netlens",
            "Serve Prometheus metrics on 127.0.0.1:9464 and keep a rotating journal (netlens.service does this).",
        ),
        (
            "netlens --config /etc/netlens/config.toml config check",
            "Check a config file before systemctl reload netlens applies it.",
        ),
        ("netlens completions bash > /etc/bash_completion.d/netlens", "Install the bash completions."),
    ];
    for (command, what) in examples {
        roff.control("TP", []).text([bold(*command)]).text([roman(*what)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        italic("ip"),
        roman("(8), "),
        italic("ss"),
        roman("(8), "),
        italic("resolv.conf"),
        roman("(5)"),
    ]);
    roff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_the_sections_a_manual_page_has() {
        let page = page().unwrap_or_else(|e| panic!("{e}"));
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "SUBCOMMANDS",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
        ] {
            assert!(
                page.contains(&format!(".SH {section}")) || page.contains(&format!(".SH \"{section}\"")),
                "no {section} in\n{page}"
            );
        }
        assert!(page.contains("netlens\\-record") || page.contains("record"), "{page}");
    }
}
