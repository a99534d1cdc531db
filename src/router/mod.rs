//! The failover router: which provider to ask next, when to retry, when to step around one.
