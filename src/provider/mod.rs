//! Alternative providers: request building and stream decoding, pure core code.

pub mod error;

pub use error::ErrorClass;
