//! A small LaTeX to MathML converter for the math answers carry.
//!
//! It covers what models write: fractions, sub- and superscripts, roots, Greek letters, the common
//! operators, relations and arrows, big operators with limits, function names, `\text`,
//! `\mathbb`/`\mathbf`/`\mathcal` (as Unicode math letters, which every MathML renderer shows),
//! accents, `\left…\right`, matrices, `cases` and aligned environments. An unknown command is shown
//! as its own text in an `mtext`, never dropped. Groups nest at most [`MAX_GROUPS`] deep and a
//! formula longer than [`MAX_TEX`] bytes is shown as text: the tree stays small and shallow.

use super::{Element, Node};

/// The longest formula typeset; a longer one is shown as its TeX.
pub const MAX_TEX: usize = 8 * 1024;
/// How deep braces and environments nest before the rest of a group is shown as text.
pub const MAX_GROUPS: usize = 24;

/// Typesets `tex` as a `math` element (`display="block"` for display math).
pub fn render(tex: &str, display: bool) -> Element {
    let mut math = Element::new("math");
    if display {
        math = math.attr("display", "block");
    }
    let children = if tex.len() > MAX_TEX {
        vec![mtext(tex)]
    } else {
        let mut p = Parser { s: tex, i: 0, depth: 0, display };
        p.row(Until::End)
    };
    math.with(vec![row(children)])
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    End,
    Brace,
    Right,
    Env,
    Bracket,
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
    depth: usize,
    display: bool,
}

fn el(tag: &'static str, children: Vec<Node>) -> Node {
    Element::new(tag).with(children).into()
}

fn leaf(tag: &'static str, text: &str) -> Node {
    el(tag, vec![Node::Text(text.to_string())])
}

fn mtext(text: &str) -> Node {
    leaf("mtext", text)
}

fn mo(text: &str) -> Node {
    leaf("mo", text)
}

fn row(mut children: Vec<Node>) -> Node {
    if children.len() == 1 {
        return children.pop().unwrap_or(Node::Text(String::new()));
    }
    el("mrow", children)
}

fn stretchy(text: &str) -> Node {
    Element::new("mo").attr("stretchy", "true").with(vec![Node::Text(text.to_string())]).into()
}

fn space(em: &str) -> Node {
    Element::new("mspace").attr("width", em).into()
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn skip_ws(&mut self) {
        let t = self.rest();
        self.i += t.len() - t.trim_start().len();
    }

    /// The command at the cursor (`\name` or `\` + one character), without consuming it.
    fn peek_command(&self) -> Option<&'a str> {
        let t = self.rest().strip_prefix('\\')?;
        let letters = t.bytes().take_while(u8::is_ascii_alphabetic).count();
        if letters > 0 {
            return Some(&t[..letters]);
        }
        t.chars().next().map(|c| &t[..c.len_utf8()])
    }

    fn take_command(&mut self) -> Option<&'a str> {
        let name = self.peek_command()?;
        self.i += 1 + name.len();
        Some(name)
    }

    /// A row of atoms up to the end, a closing brace, `\right`, `\end`, `&` or `\\` (by `until`).
    fn row(&mut self, until: Until) -> Vec<Node> {
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            let Some(c) = self.peek() else { break };
            match c {
                '}' if until == Until::Brace => {
                    self.i += 1;
                    break;
                }
                ']' if until == Until::Bracket => {
                    self.i += 1;
                    break;
                }
                '&' if until == Until::Env => break,
                '\\' => match self.peek_command() {
                    Some("right") if until == Until::Right => break,
                    Some("end" | "\\") if until == Until::Env => break,
                    _ => {}
                },
                _ => {}
            }
            let before = self.i;
            if let Some(atom) = self.atom() {
                let node = self.scripts(atom);
                out.push(node);
            }
            if self.i == before {
                // Nothing consumed (cannot happen, but never loop): show the character.
                let c = self.peek().unwrap_or(' ');
                self.i += c.len_utf8();
                out.push(mtext(&c.to_string()));
            }
        }
        out
    }

    /// Sub- and superscripts (and primes) after `base`.
    fn scripts(&mut self, base: (Node, bool)) -> Node {
        let (base, limits) = base;
        let (mut sub, mut sup) = (None, None);
        let mut primes = String::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some('_') if sub.is_none() => {
                    self.i += 1;
                    sub = Some(self.argument());
                }
                Some('^') if sup.is_none() => {
                    self.i += 1;
                    sup = Some(self.argument());
                }
                Some('\'') => {
                    self.i += 1;
                    primes.push('′');
                }
                _ => break,
            }
        }
        if !primes.is_empty() {
            let p = mo(&primes);
            sup = Some(match sup {
                Some(s) => row(vec![p, s]),
                None => p,
            });
        }
        let under = limits && self.display;
        match (sub, sup) {
            (None, None) => base,
            (Some(b), None) => el(if under { "munder" } else { "msub" }, vec![base, b]),
            (None, Some(p)) => el(if under { "mover" } else { "msup" }, vec![base, p]),
            (Some(b), Some(p)) => el(if under { "munderover" } else { "msubsup" }, vec![base, b, p]),
        }
    }

    /// One argument: a group, or a single atom (one digit of a number, as TeX does).
    fn argument(&mut self) -> Node {
        self.skip_ws();
        match self.peek() {
            None => row(Vec::new()),
            Some('{') => {
                self.i += 1;
                self.group()
            }
            Some(c) if c.is_ascii_digit() => {
                self.i += 1;
                leaf("mn", &c.to_string())
            }
            Some(_) => self.atom().map_or_else(|| row(Vec::new()), |(n, _)| n),
        }
    }

    /// The rest of a group whose `{` was consumed, as one node.
    fn group(&mut self) -> Node {
        if self.depth >= MAX_GROUPS {
            return mtext(self.raw_group());
        }
        self.depth += 1;
        let children = self.row(Until::Brace);
        self.depth -= 1;
        row(children)
    }

    /// The raw text of a group whose `{` was consumed, up to its matching `}` (consumed).
    fn raw_group(&mut self) -> &'a str {
        let t = self.rest();
        let mut depth = 0usize;
        let mut escaped = false;
        for (k, c) in t.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '{' => depth += 1,
                '}' if depth == 0 => {
                    self.i += k + 1;
                    return &t[..k];
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        self.i = self.s.len();
        t
    }

    /// A group's raw text when the cursor is at `{`, else the next character.
    fn raw_argument(&mut self) -> &'a str {
        self.skip_ws();
        match self.peek() {
            Some('{') => {
                self.i += 1;
                self.raw_group()
            }
            Some(c) => {
                let t = &self.rest()[..c.len_utf8()];
                self.i += c.len_utf8();
                t
            }
            None => "",
        }
    }

    /// One atom and whether it takes limits above and below in display math. Past
    /// [`MAX_GROUPS`] levels of nesting, the rest of the formula is one `mtext`.
    fn atom(&mut self) -> Option<(Node, bool)> {
        if self.depth >= MAX_GROUPS {
            let rest = self.rest();
            self.i = self.s.len();
            return Some((mtext(rest), false));
        }
        self.depth += 1;
        let atom = self.atom_inner();
        self.depth -= 1;
        atom
    }

    fn atom_inner(&mut self) -> Option<(Node, bool)> {
        let c = self.peek()?;
        if c == '\\' {
            return self.command();
        }
        self.i += c.len_utf8();
        let node = match c {
            '{' => self.group(),
            '0'..='9' | '.' => {
                let t = &self.s[self.i - 1..];
                let n = t
                    .char_indices()
                    .take_while(|&(k, ch)| {
                        ch.is_ascii_digit()
                            || (ch == '.' && k > 0 && t[k + 1..].starts_with(|d: char| d.is_ascii_digit()))
                    })
                    .count();
                if n == 0 {
                    mo(".")
                } else {
                    self.i += n - 1;
                    leaf("mn", &t[..n])
                }
            }
            '-' => mo("−"),
            '*' => mo("∗"),
            '\'' => mo("′"),
            '~' => space("0.33em"),
            '}' | '&' | ']' => mo(&c.to_string()),
            '^' | '_' => {
                // A script with no base.
                let base = (row(Vec::new()), false);
                self.i -= 1;
                return Some((self.scripts(base), false));
            }
            c if c.is_alphabetic() => leaf("mi", &c.to_string()),
            c if c.is_ascii_punctuation() || !c.is_alphanumeric() => mo(&c.to_string()),
            c => leaf("mi", &c.to_string()),
        };
        Some((node, false))
    }

    fn command(&mut self) -> Option<(Node, bool)> {
        let name = self.take_command()?;
        if let Some(sym) = symbol(name) {
            let node = match sym {
                Sym::Ident(t) => leaf("mi", t),
                Sym::Op(t) => mo(t),
                Sym::Big(t) => return Some((mo(t), true)),
                Sym::Func(t) => leaf("mi", t),
                Sym::Limit(t) => return Some((leaf("mi", t), true)),
                Sym::Space(w) => space(w),
                Sym::Nothing => row(Vec::new()),
            };
            return Some((node, false));
        }
        let node = match name {
            "frac" | "dfrac" | "tfrac" | "cfrac" => {
                let num = self.argument();
                let den = self.argument();
                el("mfrac", vec![num, den])
            }
            "binom" | "dbinom" | "tbinom" => {
                let top = self.argument();
                let bottom = self.argument();
                let frac = Element::new("mfrac").attr("linethickness", "0").with(vec![top, bottom]);
                row(vec![stretchy("("), frac.into(), stretchy(")")])
            }
            "sqrt" => {
                self.skip_ws();
                if self.peek() == Some('[') {
                    self.i += 1;
                    let index = self.bracket();
                    let base = self.argument();
                    el("mroot", vec![base, index])
                } else {
                    el("msqrt", vec![self.argument()])
                }
            }
            "text" | "textrm" | "textit" | "textbf" | "textsf" | "texttt" | "mbox" | "textnormal"
            | "hbox" => mtext(self.raw_argument()),
            "mathrm" | "operatorname" | "mathit" | "mathsf" | "mathtt" | "rm" => {
                let text = self.raw_argument().trim();
                Element::new("mi").attr("mathvariant", "normal").with(vec![Node::Text(text.into())]).into()
            }
            "mathbb" | "mathbf" | "boldsymbol" | "bm" | "mathcal" | "mathscr" | "mathfrak" => {
                let text: String = self.raw_argument().chars().map(|c| styled(name, c)).collect();
                leaf("mi", text.trim())
            }
            "left" | "bigl" | "Bigl" | "biggl" | "Biggl" | "big" | "Big" | "bigg" | "Bigg" | "bigr"
            | "Bigr" | "biggr" | "Biggr" | "bigm" | "Bigm" | "middle" => {
                let open = self.delimiter();
                if name != "left" {
                    return Some((stretchy(open), false));
                }
                let inner = self.row(Until::Right);
                let close = if self.peek_command() == Some("right") {
                    self.take_command();
                    self.delimiter()
                } else {
                    ""
                };
                let mut children = Vec::with_capacity(inner.len() + 2);
                if !open.is_empty() {
                    children.push(stretchy(open));
                }
                children.extend(inner);
                if !close.is_empty() {
                    children.push(stretchy(close));
                }
                el("mrow", children)
            }
            "right" => stretchy(self.delimiter()),
            "hat" | "widehat" | "bar" | "overline" | "vec" | "dot" | "ddot" | "tilde" | "widetilde"
            | "overrightarrow" | "check" | "breve" | "acute" | "grave" | "overbrace" => {
                let base = self.argument();
                let mark = match name {
                    "hat" | "widehat" => "^",
                    "bar" | "overline" => "‾",
                    "vec" | "overrightarrow" => "→",
                    "dot" => "˙",
                    "ddot" => "¨",
                    "tilde" | "widetilde" => "~",
                    "check" => "ˇ",
                    "breve" => "˘",
                    "acute" => "´",
                    "grave" => "`",
                    _ => "⏞",
                };
                let accent = Element::new("mo").attr("stretchy", "true").with(vec![Node::Text(mark.into())]);
                Element::new("mover").attr("accent", "true").with(vec![base, accent.into()]).into()
            }
            "underline" | "underbrace" => {
                let base = self.argument();
                let mark = if name == "underline" { "_" } else { "⏟" };
                let accent = Element::new("mo").attr("stretchy", "true").with(vec![Node::Text(mark.into())]);
                Element::new("munder").attr("accentunder", "true").with(vec![base, accent.into()]).into()
            }
            "begin" => self.environment(),
            "end" => {
                self.raw_argument();
                row(Vec::new())
            }
            "\\" => row(Vec::new()),
            _ => mtext(&format!("\\{name}")),
        };
        Some((node, false))
    }

    /// An optional argument's content after `[` (consumed), up to `]`.
    fn bracket(&mut self) -> Node {
        if self.depth >= MAX_GROUPS {
            return row(Vec::new());
        }
        self.depth += 1;
        let children = self.row(Until::Bracket);
        self.depth -= 1;
        row(children)
    }

    /// The delimiter after `\left`, `\right` or `\big`: its character, `""` for `.`.
    fn delimiter(&mut self) -> &'static str {
        self.skip_ws();
        if self.peek() == Some('\\') {
            let name = self.take_command().unwrap_or("");
            return match name {
                "{" | "lbrace" => "{",
                "}" | "rbrace" => "}",
                "langle" => "⟨",
                "rangle" => "⟩",
                "|" | "Vert" => "‖",
                "vert" => "|",
                "lfloor" => "⌊",
                "rfloor" => "⌋",
                "lceil" => "⌈",
                "rceil" => "⌉",
                _ => "",
            };
        }
        let Some(c) = self.peek() else { return "" };
        self.i += c.len_utf8();
        match c {
            '(' => "(",
            ')' => ")",
            '[' => "[",
            ']' => "]",
            '|' => "|",
            '/' => "/",
            '<' => "⟨",
            '>' => "⟩",
            _ => "",
        }
    }

    /// `\begin{name}` (consumed up to the name's brace) to its `\end{name}`: a table.
    fn environment(&mut self) -> Node {
        let name = self.raw_argument().trim();
        if name == "array" {
            self.skip_ws();
            if self.peek() == Some('{') {
                self.i += 1;
                self.raw_group();
            }
        }
        if self.depth >= MAX_GROUPS {
            return mtext(self.rest_of_environment());
        }
        self.depth += 1;
        let mut rows = Vec::new();
        let mut cells = Vec::new();
        loop {
            let cell = self.row(Until::Env);
            cells.push(el("mtd", cell));
            self.skip_ws();
            if self.peek() == Some('&') {
                self.i += 1;
                continue;
            }
            match self.take_command() {
                Some("\\") => {
                    rows.push(el("mtr", std::mem::take(&mut cells)));
                }
                Some("end") => {
                    self.raw_argument();
                    break;
                }
                _ => break,
            }
        }
        self.depth -= 1;
        // A trailing `\\` leaves an empty last row: dropped.
        let empty = cells.len() == 1 && matches!(&cells[0], Node::Element(e) if e.children.is_empty());
        if !empty || rows.is_empty() {
            rows.push(el("mtr", cells));
        }
        let table = el("mtable", rows);
        let (open, close) = match name {
            "pmatrix" => ("(", ")"),
            "bmatrix" => ("[", "]"),
            "Bmatrix" | "cases" | "dcases" => ("{", ""),
            "vmatrix" => ("|", "|"),
            "Vmatrix" => ("‖", "‖"),
            _ => ("", ""),
        };
        let close = if name == "Bmatrix" { "}" } else { close };
        if open.is_empty() {
            return table;
        }
        let mut children = vec![stretchy(open), table];
        if !close.is_empty() {
            children.push(stretchy(close));
        }
        el("mrow", children)
    }

    /// Skips to the end of the formula (an environment nested too deep is shown as text).
    fn rest_of_environment(&mut self) -> &'a str {
        let t = self.rest();
        self.i = self.s.len();
        t
    }
}

enum Sym {
    Ident(&'static str),
    Op(&'static str),
    Big(&'static str),
    Func(&'static str),
    Limit(&'static str),
    Space(&'static str),
    Nothing,
}

/// The commands that stand for one symbol.
fn symbol(name: &str) -> Option<Sym> {
    use Sym::*;
    Some(match name {
        "alpha" => Ident("α"),
        "beta" => Ident("β"),
        "gamma" => Ident("γ"),
        "delta" => Ident("δ"),
        "epsilon" => Ident("ϵ"),
        "varepsilon" => Ident("ε"),
        "zeta" => Ident("ζ"),
        "eta" => Ident("η"),
        "theta" => Ident("θ"),
        "vartheta" => Ident("ϑ"),
        "iota" => Ident("ι"),
        "kappa" => Ident("κ"),
        "lambda" => Ident("λ"),
        "mu" => Ident("μ"),
        "nu" => Ident("ν"),
        "xi" => Ident("ξ"),
        "pi" => Ident("π"),
        "varpi" => Ident("ϖ"),
        "rho" => Ident("ρ"),
        "varrho" => Ident("ϱ"),
        "sigma" => Ident("σ"),
        "varsigma" => Ident("ς"),
        "tau" => Ident("τ"),
        "upsilon" => Ident("υ"),
        "phi" => Ident("ϕ"),
        "varphi" => Ident("φ"),
        "chi" => Ident("χ"),
        "psi" => Ident("ψ"),
        "omega" => Ident("ω"),
        "Gamma" => Ident("Γ"),
        "Delta" => Ident("Δ"),
        "Theta" => Ident("Θ"),
        "Lambda" => Ident("Λ"),
        "Xi" => Ident("Ξ"),
        "Pi" => Ident("Π"),
        "Sigma" => Ident("Σ"),
        "Upsilon" => Ident("Υ"),
        "Phi" => Ident("Φ"),
        "Psi" => Ident("Ψ"),
        "Omega" => Ident("Ω"),
        "infty" => Ident("∞"),
        "partial" => Ident("∂"),
        "nabla" => Ident("∇"),
        "emptyset" | "varnothing" => Ident("∅"),
        "hbar" => Ident("ℏ"),
        "ell" => Ident("ℓ"),
        "Re" => Ident("ℜ"),
        "Im" => Ident("ℑ"),
        "aleph" => Ident("ℵ"),
        "angle" => Ident("∠"),
        "triangle" => Ident("△"),
        "prime" => Op("′"),
        "times" => Op("×"),
        "cdot" => Op("⋅"),
        "div" => Op("÷"),
        "pm" => Op("±"),
        "mp" => Op("∓"),
        "ast" => Op("∗"),
        "star" => Op("⋆"),
        "circ" => Op("∘"),
        "bullet" => Op("∙"),
        "oplus" => Op("⊕"),
        "otimes" => Op("⊗"),
        "leq" | "le" => Op("≤"),
        "geq" | "ge" => Op("≥"),
        "neq" | "ne" => Op("≠"),
        "ll" => Op("≪"),
        "gg" => Op("≫"),
        "approx" => Op("≈"),
        "equiv" => Op("≡"),
        "sim" => Op("∼"),
        "simeq" => Op("≃"),
        "cong" => Op("≅"),
        "propto" => Op("∝"),
        "in" => Op("∈"),
        "notin" => Op("∉"),
        "ni" => Op("∋"),
        "subset" => Op("⊂"),
        "subseteq" => Op("⊆"),
        "supset" => Op("⊃"),
        "supseteq" => Op("⊇"),
        "cup" => Op("∪"),
        "cap" => Op("∩"),
        "setminus" => Op("∖"),
        "forall" => Op("∀"),
        "exists" => Op("∃"),
        "neg" | "lnot" => Op("¬"),
        "land" | "wedge" => Op("∧"),
        "lor" | "vee" => Op("∨"),
        "perp" => Op("⊥"),
        "parallel" => Op("∥"),
        "mid" => Op("∣"),
        "to" | "rightarrow" => Op("→"),
        "leftarrow" | "gets" => Op("←"),
        "leftrightarrow" => Op("↔"),
        "Rightarrow" | "implies" => Op("⇒"),
        "Leftarrow" => Op("⇐"),
        "Leftrightarrow" | "iff" => Op("⇔"),
        "mapsto" => Op("↦"),
        "uparrow" => Op("↑"),
        "downarrow" => Op("↓"),
        "longrightarrow" => Op("⟶"),
        "ldots" | "dots" | "dotsc" | "dotsb" => Op("…"),
        "cdots" => Op("⋯"),
        "vdots" => Op("⋮"),
        "ddots" => Op("⋱"),
        "langle" => Op("⟨"),
        "rangle" => Op("⟩"),
        "lfloor" => Op("⌊"),
        "rfloor" => Op("⌋"),
        "lceil" => Op("⌈"),
        "rceil" => Op("⌉"),
        "{" | "lbrace" => Op("{"),
        "}" | "rbrace" => Op("}"),
        "|" => Op("‖"),
        "vert" => Op("|"),
        "_" => Op("_"),
        "%" => Op("%"),
        "$" => Op("$"),
        "&" => Op("&"),
        "#" => Op("#"),
        "sum" => Big("∑"),
        "prod" => Big("∏"),
        "coprod" => Big("∐"),
        "int" => Op("∫"),
        "iint" => Op("∬"),
        "iiint" => Op("∭"),
        "oint" => Op("∮"),
        "bigcup" => Big("⋃"),
        "bigcap" => Big("⋂"),
        "bigoplus" => Big("⨁"),
        "bigotimes" => Big("⨂"),
        "lim" => Limit("lim"),
        "limsup" => Limit("lim sup"),
        "liminf" => Limit("lim inf"),
        "max" => Limit("max"),
        "min" => Limit("min"),
        "sup" => Limit("sup"),
        "inf" => Limit("inf"),
        "argmax" => Limit("arg max"),
        "argmin" => Limit("arg min"),
        "sin" => Func("sin"),
        "cos" => Func("cos"),
        "tan" => Func("tan"),
        "cot" => Func("cot"),
        "sec" => Func("sec"),
        "csc" => Func("csc"),
        "arcsin" => Func("arcsin"),
        "arccos" => Func("arccos"),
        "arctan" => Func("arctan"),
        "sinh" => Func("sinh"),
        "cosh" => Func("cosh"),
        "tanh" => Func("tanh"),
        "log" => Func("log"),
        "ln" => Func("ln"),
        "lg" => Func("lg"),
        "exp" => Func("exp"),
        "det" => Func("det"),
        "dim" => Func("dim"),
        "ker" => Func("ker"),
        "deg" => Func("deg"),
        "gcd" => Func("gcd"),
        "arg" => Func("arg"),
        "Pr" => Func("Pr"),
        "mod" | "bmod" => Func("mod"),
        "," | "thinspace" => Space("0.17em"),
        ":" | ">" | "medspace" => Space("0.22em"),
        ";" | "thickspace" => Space("0.28em"),
        " " => Space("0.33em"),
        "quad" => Space("1em"),
        "qquad" => Space("2em"),
        "!" | "negthinspace" => Nothing,
        "limits" | "nolimits" | "displaystyle" | "textstyle" | "scriptstyle" | "left." | "nonumber"
        | "notag" => Nothing,
        _ => return None,
    })
}

/// `c` in the alphabet of `\mathbb`, `\mathbf` or `\mathcal` (Unicode's mathematical letters).
fn styled(style: &str, c: char) -> char {
    let (upper, lower, digit): (u32, u32, Option<u32>) = match style {
        "mathbb" => (0x1D538, 0x1D552, Some(0x1D7D8)),
        "mathbf" | "boldsymbol" | "bm" => (0x1D400, 0x1D41A, Some(0x1D7CE)),
        "mathcal" | "mathscr" => (0x1D49C, 0x1D4B6, None),
        "mathfrak" => (0x1D504, 0x1D51E, None),
        _ => return c,
    };
    // Letters Unicode had before the mathematical block, so the block leaves them out.
    let hole = match (style, c) {
        ("mathbb", 'C') => Some('ℂ'),
        ("mathbb", 'H') => Some('ℍ'),
        ("mathbb", 'N') => Some('ℕ'),
        ("mathbb", 'P') => Some('ℙ'),
        ("mathbb", 'Q') => Some('ℚ'),
        ("mathbb", 'R') => Some('ℝ'),
        ("mathbb", 'Z') => Some('ℤ'),
        ("mathcal" | "mathscr", 'B') => Some('ℬ'),
        ("mathcal" | "mathscr", 'E') => Some('ℰ'),
        ("mathcal" | "mathscr", 'F') => Some('ℱ'),
        ("mathcal" | "mathscr", 'H') => Some('ℋ'),
        ("mathcal" | "mathscr", 'I') => Some('ℐ'),
        ("mathcal" | "mathscr", 'L') => Some('ℒ'),
        ("mathcal" | "mathscr", 'M') => Some('ℳ'),
        ("mathcal" | "mathscr", 'R') => Some('ℛ'),
        ("mathcal" | "mathscr", 'e') => Some('ℯ'),
        ("mathcal" | "mathscr", 'g') => Some('ℊ'),
        ("mathcal" | "mathscr", 'o') => Some('ℴ'),
        ("mathfrak", 'C') => Some('ℭ'),
        ("mathfrak", 'H') => Some('ℌ'),
        ("mathfrak", 'I') => Some('ℑ'),
        ("mathfrak", 'R') => Some('ℜ'),
        ("mathfrak", 'Z') => Some('ℨ'),
        _ => None,
    };
    if let Some(h) = hole {
        return h;
    }
    let code = match c {
        'A'..='Z' => upper + (c as u32 - 'A' as u32),
        'a'..='z' => lower + (c as u32 - 'a' as u32),
        '0'..='9' => match digit {
            Some(d) => d + (c as u32 - '0' as u32),
            None => return c,
        },
        _ => return c,
    };
    char::from_u32(code).unwrap_or(c)
}
