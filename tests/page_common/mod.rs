//! Shared by the tests that replay the published ChatGPT captures (`tests/fixtures/chatgpt/w2a/`).
#![allow(dead_code)]

/// A small base64 decoder for the fixtures (standard alphabet, padded).
pub fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for group in bytes.chunks(4) {
        let v: Vec<u32> = group.iter().map(|&c| u32::from(val(c))).collect();
        let n = v.iter().fold(0u32, |acc, x| (acc << 6) | x) << (6 * (4 - v.len()));
        for k in 0..v.len() - 1 {
            out.push((n >> (16 - 8 * k)) as u8);
        }
    }
    out
}

/// The fixture's chunks, as the page received them.
pub fn chunks(name: &str) -> Vec<Vec<u8>> {
    let path = format!("{}/tests/fixtures/chatgpt/w2a/{name}_main_stream.json", env!("CARGO_MANIFEST_DIR"));
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let out: Vec<Vec<u8>> =
        doc["chunks"].as_array().unwrap().iter().map(|c| base64(c["b64"].as_str().unwrap())).collect();
    assert_eq!(out.iter().map(Vec::len).sum::<usize>() as u64, doc["total_bytes"].as_u64().unwrap());
    out
}
