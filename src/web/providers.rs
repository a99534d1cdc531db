//! Exports for providers, stream decoding and the router.
