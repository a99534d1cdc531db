//! Outage detection: judging what a content script observed on a chat page into a failure kind.
