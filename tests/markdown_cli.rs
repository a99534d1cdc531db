//! `understudy markdown FILE` as a user runs it: the pages' tree as HTML, hostile input inert.

use std::io::Write;
use std::process::{Command, Stdio};

fn markdown(input: &str) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_understudy"))
        .args(["markdown", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    {
        // Closed at the end of this block, so the command sees the end of its input.
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin.write_all(input.as_bytes()).expect("the input is written");
    }
    let out = child.wait_with_output().expect("the binary ends");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn renders_a_markdown_heavy_answer() {
    let (code, html) = markdown(
        "# Plan\n\n- one\n  - nested\n- [x] done\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint(1)\n```\n\nInline $x^2$ and\n\n$$\\frac{a}{b}$$\n\nSee [the docs](https://example.com/a_(b)).\n",
    );
    assert_eq!(code, 0);
    for part in [
        "<h1>Plan</h1>",
        "<li>one<ul>\n<li>nested</li>",
        "<input type=\"checkbox\" disabled=\"\" checked=\"\">done",
        "<table>",
        "<code class=\"language-python\">print(1)\n</code>",
        "<math><msup><mi>x</mi><mn>2</mn></msup></math>",
        "<math display=\"block\"><mfrac><mi>a</mi><mi>b</mi></mfrac></math>",
        "<a href=\"https://example.com/a_(b)\">the docs</a>",
    ] {
        assert!(html.contains(part), "{part:?} missing in\n{html}");
    }
}

#[test]
fn hostile_markdown_is_inert() {
    let (code, html) = markdown(
        "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> ![i](https://t.test/i.png)\n",
    );
    assert_eq!(code, 0);
    assert!(
        !html.contains("<script") && !html.contains("<img") && !html.contains("href=\"javascript"),
        "{html}"
    );
    assert!(html.contains("&lt;script&gt;") && html.contains("data-src=\"https://t.test/i.png\""), "{html}");
}

#[test]
fn a_missing_file_and_no_file_are_errors() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_understudy"))
            .args(args)
            .output()
            .expect("the binary runs")
            .status
            .code()
    };
    assert_eq!(run(&["markdown", "/nonexistent/answer.md"]), Some(1));
    assert_eq!(run(&["markdown"]), Some(2));
    assert_eq!(run(&["markdown", "a.md", "b.md"]), Some(2));
}
