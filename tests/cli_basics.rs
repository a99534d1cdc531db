//! The command line as a user runs it: version, help, and a clear refusal of unknown verbs.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_understudy")).args(args).output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_prints_the_core_version() {
    let (code, stdout, _) = run(&["version"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.trim(), format!("understudy {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_lists_every_verb() {
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for verb in ["classify", "convert", "markdown", "stream"] {
        assert!(stdout.contains(verb), "help does not mention {verb}: {stdout}");
    }
}

#[test]
fn unknown_verbs_and_no_verb_fail_with_usage() {
    for args in [&["frobnicate"][..], &[][..]] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("usage: understudy"), "{stderr}");
    }
}
