//! Reading internally tagged enums back from JSON in one pass.
//!
//! serde's derived reader for an internally tagged enum (`#[serde(tag = "...")]`) first buffers
//! the whole object, then reads the variant from the buffer: several times the code of a plain
//! struct, for every such enum. The router's saved state is read instead through flat records
//! (`*Wire`: the tag plus every field any variant has, all optional) converted with `TryFrom`,
//! which checks that the variant's fields are there. The JSON is the same either way.

/// A saved enum whose variant lacks a field or has one of the wrong shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The variant needs this field.
    Missing(&'static str),
    /// A field has the wrong shape for the variant.
    Invalid(&'static str),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Missing(field) => write!(f, "missing field `{field}`"),
            WireError::Invalid(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for WireError {}

/// The value of a field the variant requires.
pub fn need<T>(value: Option<T>, field: &'static str) -> Result<T, WireError> {
    value.ok_or(WireError::Missing(field))
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use crate::provider::ErrorClass;
    use crate::router::{AbortReason, BreakerState, GiveUpReason, Outcome, Phase, SkipReason};

    /// Every value reads back from the JSON it writes.
    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: T) {
        let json = serde_json::to_string(&value).unwrap();
        let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(back, value, "{json}");
    }

    /// A hand-written saved value reads as `expect`: `Ok(debug)` or `Err(part of the message)`.
    fn check<T: DeserializeOwned + std::fmt::Debug>(json: &str, expect: Result<&str, &str>) {
        match (serde_json::from_str::<T>(json), expect) {
            (Ok(v), Ok(want)) => assert_eq!(format!("{v:?}"), want, "{json}"),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{json}: {e}"),
            (got, want) => panic!("{json}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn every_variant_reads_back() {
        let skip = [
            SkipReason::BreakerOpen { until: 5 },
            SkipReason::ProbeBusy { until: 6 },
            SkipReason::Misconfigured { class: ErrorClass::Auth },
        ];
        for s in skip {
            round_trip(s);
            round_trip(Outcome::Skipped { reason: s });
            round_trip(Outcome::TriedAnyway { reason: s });
        }
        for o in [
            Outcome::Started { continue_partial: true },
            Outcome::FirstByte,
            Outcome::Completed { chunks: 3, text_len: 40 },
            Outcome::Failed { class: ErrorClass::RateLimited },
            Outcome::Timeout { reason: AbortReason::FirstByteTimeout },
            Outcome::Timeout { reason: AbortReason::Stalled },
            Outcome::RetryScheduled { wait_ms: 500, server_retry_after: false },
            Outcome::Switched { to: "b".into() },
            Outcome::BreakerOpened { until: 9 },
            Outcome::MarkedMisconfigured { class: ErrorClass::Auth },
            Outcome::GaveUp { reason: GiveUpReason::EmptyChain },
            Outcome::GaveUp { reason: GiveUpReason::RequestRejected },
            Outcome::GaveUp { reason: GiveUpReason::AllFailed },
            Outcome::Cancelled,
        ] {
            round_trip(o);
        }
        for p in [
            Phase::Idle,
            Phase::AwaitingFirstByte { deadline: 7 },
            Phase::Streaming,
            Phase::Waiting { until: 8, visit: 1 },
            Phase::Finished,
            Phase::GaveUp,
            Phase::Cancelled,
        ] {
            round_trip(p);
        }
        for b in [
            BreakerState::Closed,
            BreakerState::Open { until: 3 },
            BreakerState::HalfOpen { probe_since: None },
            BreakerState::HalfOpen { probe_since: Some(4) },
        ] {
            round_trip(b);
        }
    }

    #[test]
    fn saved_values_are_read_in_any_key_order_and_checked() {
        check::<Outcome>(
            r#"{"chunks":2,"text_len":9,"kind":"completed"}"#,
            Ok("Completed { chunks: 2, text_len: 9 }"),
        );
        check::<Outcome>(r#"{"kind":"first_byte","extra":1}"#, Ok("FirstByte"));
        check::<Outcome>(r#"{"kind":"completed","chunks":2}"#, Err("missing field `text_len`"));
        check::<Outcome>(r#"{"kind":"melted"}"#, Err("unknown variant `melted`"));
        check::<Outcome>(r#"{"chunks":1}"#, Err("missing field `kind`"));
        check::<Outcome>(r#"{"kind":"timeout","reason":"bored"}"#, Err("unknown timeout reason"));
        check::<Outcome>(r#"{"kind":"timeout","reason":{"kind":"probe_busy","until":1}}"#, Err("a name"));
        check::<Outcome>(r#"{"kind":"skipped","reason":"stalled"}"#, Err("an object"));
        check::<Outcome>(
            r#"{"kind":"skipped","reason":{"until":4,"kind":"breaker_open"}}"#,
            Ok("Skipped { reason: BreakerOpen { until: 4 } }"),
        );
        check::<Outcome>(
            r#"{"kind":"skipped","reason":{"kind":"misconfigured"}}"#,
            Err("missing field `class`"),
        );
        check::<Outcome>(r#"{"kind":"gave_up","reason":"tired"}"#, Err("unknown give-up reason"));
        check::<Outcome>(r#"{"kind":"switched","to":5}"#, Err("invalid type"));
        check::<Phase>(r#"{"visit":2,"until":1,"phase":"waiting"}"#, Ok("Waiting { until: 1, visit: 2 }"));
        check::<Phase>(r#"{"phase":"waiting","until":1}"#, Err("missing field `visit`"));
        check::<Phase>(r#"{"phase":"nowhere"}"#, Err("unknown variant"));
        check::<BreakerState>(r#"{"state":"open"}"#, Err("missing field `until`"));
        check::<BreakerState>(r#"{"state":"half_open"}"#, Ok("HalfOpen { probe_since: None }"));
    }
}
