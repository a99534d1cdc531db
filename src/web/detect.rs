//! Exports for outage detection.
