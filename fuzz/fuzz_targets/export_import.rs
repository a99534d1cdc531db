//! The ChatGPT export importer (JSON array, and the zip it comes in): no panic on any bytes, and
//! the same conversations whether the JSON is read whole or streamed in chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::conversation::export::{ExportReader, read_any};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let mut whole = Vec::new();
    let whole_ok = read_any(body, &mut |c| whole.push(c)).is_ok();
    if understudy::conversation::export::is_zip(body) {
        return;
    }
    let chunk = 1 + pick as usize % 97;
    let mut reader = ExportReader::new();
    let mut streamed = Vec::new();
    let mut ok = true;
    for c in body.chunks(chunk) {
        match reader.feed(c) {
            Ok(items) => streamed.extend(items),
            Err(_) => {
                ok = false;
                break;
            }
        }
    }
    if ok {
        match reader.finish() {
            Ok(items) => streamed.extend(items),
            Err(_) => ok = false,
        }
    }
    if ok && whole_ok {
        assert_eq!(whole, streamed, "in chunks of {chunk}");
    }
});
