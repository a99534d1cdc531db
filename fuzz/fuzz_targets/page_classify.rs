//! The page classifier: any text as an observation (strictly parsed, then judged) and as a saved
//! page (extracted with the adapter's selectors, then judged): no panic, bounded evidence, and a
//! rate-limit retry time only on a rate limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy::detect::{Kind, Observation, Rules, classify, extract_html};
use understudy::site::Site;

const NOW: u64 = 1_795_600_800_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let rules = Rules::builtin(Site::Chatgpt);
    let mut judged = Vec::new();
    if let Ok(obs) = Observation::from_json(text) {
        judged.push(classify(&obs, rules, NOW));
    }
    let dom = Observation::Dom(extract_html(text, rules));
    judged.push(classify(&dom, rules, NOW));
    for d in judged {
        assert!(d.evidence.text.len() <= 300, "evidence bounded");
        assert!(d.retry_after_s.is_none() || d.kind == Kind::RateLimited);
    }
});
