//! What a server install uses from the binary itself: shell completions that load in
//! the shell, and a manual page that renders.

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};

use support::{netlens, run, stderr, stdout, tempdir};

/// Whether `program` is on `PATH`.
fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run `program args` with `input` on its standard input.
fn with_input(program: &str, args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child
        .stdin
        .take()
        .unwrap_or_else(|| panic!("stdin"))
        .write_all(input.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

/// A terminal rendering without its bold and underline: SGR escapes and overstrikes
/// (`X\bX`) removed.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            '\u{8}' => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

#[test]
fn bash_completions_load_and_complete_commands_and_options() {
    let home = tempdir();
    let script = run(netlens(home.path()).args(["completions", "bash"]));
    assert!(script.status.success(), "{}", stderr(&script));
    let script = stdout(&script);
    // Loaded into bash, `netlens rec<TAB>` offers `record`, and `netlens snapshot --f<TAB>`
    // offers `--format`.
    let probe = format!(
        "{script}\n\
         COMP_WORDS=(netlens rec); COMP_CWORD=1; _netlens netlens rec netlens; echo \"words:${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(netlens snapshot --fo); COMP_CWORD=2; _netlens netlens --fo snapshot; echo \"options:${{COMPREPLY[*]}}\"\n"
    );
    let loaded = with_input("bash", &["--norc", "-s"], &probe);
    let (out, err) = (String::from_utf8_lossy(&loaded.stdout), String::from_utf8_lossy(&loaded.stderr));
    assert!(loaded.status.success() && err.is_empty(), "bash: {err}\n{out}");
    assert!(out.contains("words:record"), "{out}");
    assert!(out.lines().any(|line| line.starts_with("options:") && line.contains("--format")), "{out}");
}

#[test]
fn completions_exist_for_every_shell_and_a_bad_shell_is_named() {
    let home = tempdir();
    for (shell, marker) in
        [("zsh", "#compdef netlens"), ("fish", "complete -c netlens"), ("bash", "complete -F")]
    {
        let script = run(netlens(home.path()).args(["completions", shell]));
        assert!(script.status.success(), "{shell}: {}", stderr(&script));
        assert!(stdout(&script).contains(marker), "{shell}: {}", stdout(&script));
    }
    let bad = run(netlens(home.path()).args(["completions", "tcsh"]));
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("tcsh"), "{}", stderr(&bad));
}

#[test]
fn the_manual_page_renders_with_its_sections() {
    let home = tempdir();
    let page = run(netlens(home.path()).arg("man"));
    assert!(page.status.success(), "{}", stderr(&page));
    let page = stdout(&page);
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "not roff: {}", &page[..page.len().min(200)]);
    let program = if have("groff") { "groff" } else { "nroff" };
    assert!(have(program), "neither groff nor nroff is installed");
    let rendered = with_input(program, &["-k", "-man", "-Tutf8", "-ww"], &page);
    let (text, warnings) =
        (String::from_utf8_lossy(&rendered.stdout), String::from_utf8_lossy(&rendered.stderr));
    assert!(rendered.status.success() && warnings.trim().is_empty(), "{program}: {warnings}");
    let text = plain(&text);
    for section in
        ["NAME", "SYNOPSIS", "OPTIONS", "SUBCOMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"]
    {
        assert!(text.contains(&format!("\n{section}\n")), "no {section} in the rendered page:\n{text}");
    }
    assert!(text.contains("NO_COLOR"), "{text}");
}
