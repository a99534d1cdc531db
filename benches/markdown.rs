//! Native timings of the Markdown renderer on hostile and ordinary input (`cargo bench --bench
//! markdown`; `make bench` reads its JSON line). Timings live here, not in tests: tests assert
//! what the output is, this says how long it took.

use std::time::Instant;

use understudy::markdown;

fn main() {
    let answer = include_str!("../tests/fixtures/markdown/answer.md");
    let cases: Vec<(&str, String)> = vec![
        ("answer_4k_tokens", answer.to_string()),
        ("backticks_200k", "`".repeat(200_000)),
        ("text_then_backticks_200k", "x".to_string() + &"`".repeat(200_000)),
        ("brackets_100k", "[".repeat(100_000)),
        ("link_openers_50k", "[a](".repeat(50_000)),
        ("quotes_10k_deep", ">".repeat(10_000) + " deep"),
        ("stars_50k", "*".repeat(50_000) + "x"),
        ("emphasis_openers_50k", "*a ".repeat(50_000)),
        ("list_10k_deep", "- ".repeat(10_000) + "x"),
        ("long_line_400k", "a ".repeat(200_000)),
        ("dollars_50k", "$".repeat(50_000)),
        ("math_braces_20k", "$$".to_string() + &"{".repeat(20_000) + "$$"),
        ("math_fracs_20k", "$".to_string() + &"\\frac".repeat(20_000) + "$"),
    ];
    let mut worst: f64 = 0.0;
    let mut out = Vec::new();
    for (name, text) in &cases {
        let mut times = Vec::new();
        for _ in 0..5 {
            let t0 = Instant::now();
            let nodes = markdown::render(text);
            std::hint::black_box(&nodes);
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        if *name != "answer_4k_tokens" {
            worst = worst.max(median);
        }
        eprintln!("{name:<28} {median:>9.2} ms");
        out.push(format!("\"{name}\":{median:.3}"));
    }
    println!("{{{},\"hostile_worst_ms\":{worst:.3}}}", out.join(","));
}
