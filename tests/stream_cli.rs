//! `understudy stream`: argument errors and unreadable files exit non-zero with a clear message.

use std::process::Command;

/// Runs the command with `args`; returns (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_understudy")).arg("stream").args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/streams/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn wrong_arguments_exit_2_with_a_reason() {
    let file = fixture("openai_chat_complete.sse");
    let cases: &[(&[&str], &str)] = &[
        (&[], "--format is required"),
        (&["--format", "openai-chat"], "FILE is required"),
        (&["--format", "mistral", &file], "unknown format \"mistral\""),
        (&["--format"], "--format needs a value"),
        (&["--format", "gemini", "--chunk-size", "-3", &file], "--chunk-size must be a whole number"),
        (&["--format", "gemini", "--chunk-size"], "--chunk-size needs a value"),
        (&["--format", "gemini", "--fast", &file], "unknown option --fast"),
        (&["--format", "gemini", &file, &file], "only one FILE"),
    ];
    for (args, says) in cases {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stderr.contains("usage:"), "{args:?}");
    }
}

#[test]
fn unreadable_file_exits_1() {
    let (code, stdout, stderr) = run(&["--format", "ollama", "/nonexistent/stream.ndjson"]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("cannot read /nonexistent/stream.ndjson"), "{stderr}");
}

#[test]
fn prints_exactly_the_documented_object() {
    let (code, stdout, _) =
        run(&["--format", "anthropic", "--chunk-size", "3", &fixture("anthropic_error_overloaded.sse")]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "{\"text\":\"Partial\",\"outcome\":\"error\",\"error\":{\"class\":\"overloaded\",\"message\":\
         \"Anthropic reported an error in the stream: Overloaded\"}}\n"
    );
    let (_, stdout, _) = run(&["--format", "ollama", &fixture("ollama_truncated.ndjson")]);
    assert_eq!(stdout, "{\"text\":\"Half way\",\"outcome\":\"truncated\",\"error\":null}\n");
}
