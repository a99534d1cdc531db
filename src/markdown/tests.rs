//! Unit checks of the tree builder: one `check(markdown, html)` per case.

use super::html::to_html;
use super::*;

fn html(md: &str) -> String {
    to_html(&render(md))
}

#[track_caller]
fn check(md: &str, expected: &str) {
    assert_eq!(html(md).replace('\n', ""), expected, "{md:?}");
}

#[test]
fn paragraphs_lists_and_emphasis() {
    check("*a* **b** ~~c~~", "<p><em>a</em> <strong>b</strong> <del>c</del></p>");
    check("- a\n  - b\n- c", "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>");
    check("3. x\n4. y", "<ol start=\"3\"><li>x</li><li>y</li></ol>");
    check(
        "- [x] done\n- [ ] todo",
        "<ul><li><input type=\"checkbox\" disabled=\"\" checked=\"\">done</li><li><input type=\"checkbox\" disabled=\"\">todo</li></ul>",
    );
}

#[test]
fn tables_keep_their_alignment() {
    check(
        "| a | b |\n|:--|--:|\n| 1 | 2 |",
        "<table><thead><tr><th align=\"left\">a</th><th align=\"right\">b</th></tr></thead><tbody><tr><td align=\"left\">1</td><td align=\"right\">2</td></tr></tbody></table>",
    );
}

#[test]
fn code_blocks_carry_their_language_and_only_a_safe_one() {
    check("```rust\nfn main() {}\n```", "<pre><code class=\"language-rust\">fn main() {}</code></pre>");
    check("```\"><script>\nx\n```", "<pre><code class=\"language-&quot;&gt;&lt;script&gt;\">x</code></pre>");
}

#[test]
fn links_keep_only_safe_schemes() {
    check("[a](https://example.com/a_(b))", "<p><a href=\"https://example.com/a_(b)\">a</a></p>");
    check("[a](javascript:alert(1))", "<p>a</p>");
    check("[a](JaVaScRiPt:alert(1))", "<p>a</p>");
    check("[a](data:text/html,x)", "<p>a</p>");
    check("[a](/relative)", "<p>a</p>");
    check(
        "<mailto:a@b.c> <a@b.c>",
        "<p><a href=\"mailto:a@b.c\">mailto:a@b.c</a> <a href=\"mailto:a@b.c\">a@b.c</a></p>",
    );
}

#[test]
fn raw_html_is_text() {
    check(
        "<script>alert(1)</script>",
        "<p class=\"understudy-html\">&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    );
    check("a <img src=x onerror=alert(1)> b", "<p>a &lt;img src=x onerror=alert(1)&gt; b</p>");
}

#[test]
fn images_are_placeholders_never_img() {
    check(
        "![a *cat*](https://x.test/c.png \"t\")",
        "<p><span class=\"understudy-image\" data-src=\"https://x.test/c.png\" title=\"t\">a cat</span></p>",
    );
    check("![a](javascript:x)", "<p><span class=\"understudy-image\">a</span></p>");
    assert!(!html("![x](http://a/b) ![y](data:image/png;base64,AAAA)").contains("<img"));
}

#[test]
fn math_in_four_delimiters_and_dollars_in_prose() {
    for md in ["$x^2$", "\\(x^2\\)"] {
        check(md, "<p><math><msup><mi>x</mi><mn>2</mn></msup></math></p>");
    }
    for md in ["$$x^2$$", "\\[x^2\\]"] {
        check(md, "<p><math display=\"block\"><msup><mi>x</mi><mn>2</mn></msup></math></p>");
    }
    check("It costs $5 and $10.", "<p>It costs $5 and $10.</p>");
    check("between $5 and 6$7", "<p>between $5 and 6$7</p>");
    check("a \\(b\\) c \\[d", "<p>a <math><mi>b</mi></math> c [d</p>");
    check("\\\\(b\\)", "<p>\\(b)</p>");
    check("*\\(a*\\)", "<p><em>(a</em>)</p>");
    check("`$x$`", "<p><code>$x$</code></p>");
}

#[test]
fn latex_constructs() {
    let m = |tex: &str| to_html(&[math::render(tex, false).into()]);
    assert_eq!(m("\\frac{a}{b}"), "<math><mfrac><mi>a</mi><mi>b</mi></mfrac></math>");
    assert_eq!(m("\\sqrt{2}"), "<math><msqrt><mn>2</mn></msqrt></math>");
    assert_eq!(m("\\sqrt[3]{x}"), "<math><mroot><mi>x</mi><mn>3</mn></mroot></math>");
    assert_eq!(m("\\alpha+\\beta"), "<math><mrow><mi>α</mi><mo>+</mo><mi>β</mi></mrow></math>");
    assert_eq!(m("\\mathbb{R}^n"), "<math><msup><mi>ℝ</mi><mi>n</mi></msup></math>");
    assert_eq!(m("\\text{if } x"), "<math><mrow><mtext>if </mtext><mi>x</mi></mrow></math>");
    assert_eq!(m("\\foo"), "<math><mtext>\\foo</mtext></math>");
    assert_eq!(m("3.14"), "<math><mn>3.14</mn></math>");
    let sum = to_html(&[math::render("\\sum_{i=1}^n i", true).into()]);
    assert!(sum.contains("<munderover><mo>∑</mo>"), "{sum}");
    let matrix = m("\\begin{pmatrix}a & b\\\\ c & d\\end{pmatrix}");
    assert!(
        matrix.contains("<mtable><mtr><mtd><mi>a</mi></mtd><mtd><mi>b</mi></mtd></mtr><mtr>"),
        "{matrix}"
    );
    let left = m("\\left( \\frac{1}{2} \\right)");
    assert!(left.starts_with("<math><mrow><mo stretchy=\"true\">(</mo><mfrac>"), "{left}");
}

#[test]
fn footnotes() {
    let out = html("a[^1]\n\n[^1]: note");
    assert!(out.contains("<sup class=\"footnote-reference\">1</sup>"), "{out}");
    assert!(
        out.contains("<div class=\"footnote-definition\"><sup class=\"footnote-definition-label\">1</sup>"),
        "{out}"
    );
}

fn depth(nodes: &[Node]) -> usize {
    let mut max = 0;
    let mut stack: Vec<(&Node, usize)> = nodes.iter().map(|n| (n, 1)).collect();
    while let Some((n, d)) = stack.pop() {
        max = max.max(d);
        if let Node::Element(e) = n {
            stack.extend(e.children.iter().map(|c| (c, d + 1)));
        }
    }
    max
}

#[test]
fn hostile_input_is_bounded_and_inert() {
    // (input, a piece of text the output must still show, escaped)
    let cases = [
        ("`".repeat(200_000), ""),
        ("x".to_string() + &"`".repeat(200_000), "x``````````"),
        ("`a".repeat(100_000), "<code>a</code>a<code>a</code>"),
        ("[".repeat(100_000), "[[[[[[[[[["),
        ("[a](".repeat(50_000), "[a]([a]("),
        (">".repeat(10_000) + " deep", "deep"),
        ("*".repeat(50_000) + "x", "x"),
        ("*a ".repeat(50_000), "*a *a"),
        ("- ".repeat(10_000) + "x", "x"),
        ("a ".repeat(200_000), "a a a a"),
        ("$".repeat(50_000), ""),
        ("$5 and $10 ".repeat(20_000), "$5 and $10 $5"),
        ("\\\\".repeat(50_000) + "\\(x", "\\\\"),
        ("\\(".repeat(20_000) + "x", "(((("),
        ("$$".to_string() + &"{".repeat(20_000) + "$$", "{{{{"),
        ("$".to_string() + &"\\frac".repeat(20_000) + "$", "\\frac\\frac"),
        ("$\\sqrt[".to_string() + &"[".repeat(20_000) + "$", ""),
        ("$\\left(".repeat(20_000) + "$", ""),
        (
            "<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n<img src=x onerror=alert(1)>"
                .to_string(),
            "&lt;script&gt;",
        ),
    ];
    for (md, shown) in &cases {
        let nodes = render(md);
        assert!(depth(&nodes) <= MAX_DEPTH + 3 * math::MAX_GROUPS + 4, "too deep for {:?}", &md[..20]);
        let out = to_html(&nodes);
        assert!(
            !out.contains("<script") && !out.contains("<img") && !out.contains("javascript:"),
            "{:?}",
            &md[..20]
        );
        assert!(out.contains(shown), "{:?} lost {shown:?}", &md[..20]);
    }
}

#[test]
fn blocks_carry_their_source_offsets() {
    let text = "# Title\n\npara one\nstill\n\n    code\n\n- a\n- b\n\n---\n";
    let blocks = render_blocks(text);
    let tags: Vec<_> = blocks
        .iter()
        .map(|b| match &b.node {
            Node::Element(e) => e.tag,
            _ => "",
        })
        .collect();
    assert_eq!(tags, ["h1", "p", "pre", "ul", "hr"]);
    assert_eq!(&text[blocks[1].start..blocks[1].end], "para one\nstill\n");
    assert_eq!(&text[blocks[2].start..blocks[2].start + 8], "    code");
    // Re-rendering from a block's start gives the same blocks as the whole text.
    for b in &blocks {
        let tail = render_blocks(&text[b.start..]);
        assert_eq!(tail[0].node, b.node);
    }
}

#[test]
fn streaming_a_text_in_pieces_gives_the_final_render() {
    let text = "Intro with **bold**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nTitle\n---\n\n```py\nprint(1)\n```\n\n1. one\n2. two\n\n   still two\n\nend $x$.\n";
    // What a page does: keep the blocks before the last, re-render from the last block's start.
    let (mut frozen, mut from) = (Vec::new(), 0);
    let mut shown = Vec::new();
    for cut in (1..=text.len()).filter(|&i| text.is_char_boundary(i)) {
        let mut blocks = render_blocks(&text[from..cut]);
        let n = settled(&text[from..cut], &blocks);
        if n > 0 {
            let next = blocks[n].start;
            frozen.extend(blocks.drain(..n).map(|b| b.node));
            from += next;
        }
        shown = frozen.clone();
        shown.extend(blocks.into_iter().map(|b| b.node));
    }
    assert_eq!(to_html(&shown), to_html(&render(text)));
}

#[test]
fn carriage_returns_end_lines_for_blocks_too() {
    let text = "- a\r\r\rpara\r\rmore";
    let blocks = render_blocks(text);
    assert_eq!(blocks.len(), 3);
    assert_eq!(&text[blocks[1].start..blocks[1].start + 4], "para");
    assert_eq!(settled(text, &blocks), 1);
}

#[test]
fn utf16_offsets_count_js_indices() {
    let text = "é😀a";
    assert_eq!(utf16_offsets(text, &[0, 2, 6, 7]), [0, 1, 3, 4]);
}

#[test]
fn serialises_as_plain_objects() {
    let v = serde_json::to_value(render("[a](https://x.test)")).unwrap_or_default();
    assert_eq!(
        v,
        serde_json::json!([{"tag": "p", "children": [{"tag": "a", "attrs": {"href": "https://x.test"}, "children": ["a"]}]}])
    );
}

#[test]
fn a_block_settles_only_after_a_blank_line() {
    // The unclosed code span decides whether the second line starts a table; the whole text says no.
    let text = "n\n|:- `|\n|:-\n|:- ` | |\n";
    let prefix = &text[..14];
    assert_eq!(settled(prefix, &render_blocks(prefix)), 0);
    let text = "para\n\n| a |\n|---|\nmore\n";
    assert_eq!(settled(text, &render_blocks(text)), 1);
}
