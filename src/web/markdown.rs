//! Exports for the Markdown renderer, called by `www/markdown.js` (the one Markdown to DOM module).

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::interop;
use crate::markdown::{self, Node};

/// A document as the children of its container: `[node]`, where a node is a string (text) or
/// `{tag, attrs, children}`.
#[wasm_bindgen(js_name = renderMarkdown)]
pub fn render_markdown(text: &str) -> Result<JsValue, JsError> {
    interop::to_js(&markdown::render(text))
}

#[derive(Serialize)]
struct JsBlock {
    start: usize,
    end: usize,
    node: Node,
}

#[derive(Serialize)]
struct Blocks {
    blocks: Vec<JsBlock>,
    settled: usize,
}

/// The top-level blocks of `text`: `{blocks: [{start, end, node}], settled}`, offsets in UTF-16
/// code units (JS string indices). The first `settled` blocks cannot change as the text grows: a
/// streaming page keeps them and next renders `text.slice(blocks[settled].start)` (see
/// `markdown::render_blocks`).
#[wasm_bindgen(js_name = markdownBlocks)]
pub fn markdown_blocks(text: &str) -> Result<JsValue, JsError> {
    interop::to_js(&blocks(text))
}

/// The same as `markdownBlocks`, as JSON text for `JSON.parse`: for a tree of thousands of nodes
/// the browser's parser builds the objects several times faster than one boundary call per value.
#[wasm_bindgen(js_name = markdownBlocksJson)]
pub fn markdown_blocks_json(text: &str) -> Result<String, JsError> {
    serde_json::to_string(&blocks(text)).map_err(|e| JsError::new(&format!("cannot write the blocks: {e}")))
}

fn blocks(text: &str) -> Blocks {
    let blocks = markdown::render_blocks(text);
    let settled = markdown::settled(text, &blocks);
    let offsets: Vec<usize> = blocks.iter().flat_map(|b| [b.start, b.end]).collect();
    // Block ranges are ascending and never overlap, so the offsets are sorted.
    let units = markdown::utf16_offsets(text, &offsets);
    let blocks = blocks
        .into_iter()
        .zip(units.chunks(2))
        .map(|(b, u)| JsBlock { start: u[0], end: u[1], node: b.node })
        .collect();
    Blocks { blocks, settled }
}
