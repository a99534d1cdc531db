//! The settings document (providers, router, preferences): no panic on any text, and what it
//! accepts survives a round trip through its own JSON unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::preferences::SettingsDocument;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(doc) = SettingsDocument::from_json(text) {
        let again = SettingsDocument::from_value(doc.to_value(true)).expect("its own JSON is valid");
        assert_eq!(again, doc);
    }
});
