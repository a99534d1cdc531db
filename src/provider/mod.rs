//! Alternative providers: request building and stream decoding, pure core code.
//!
//! - [`chat`]: chat turns, provider settings, [`build_request`], [`fit_to_context`].
//! - [`decode`]: [`decoder_for`] gives a [`StreamDecoder`] for each wire format.
//! - [`classify`]: [`classify_http_error`] turns an HTTP error answer into a [`ProviderError`].
//! - [`error`]: the shared [`ErrorClass`].

pub mod chat;
pub mod classify;
pub mod decode;
pub mod error;

mod anthropic;
mod gemini;
mod ollama;
mod openai;

pub use chat::{
    BuildError, ChatMessage, HttpRequest, ProviderConfig, ProviderKind, RequestOptions, Role, build_request,
    fit_to_context,
};
pub use classify::classify_http_error;
pub use decode::{
    FinishReason, Finished, StreamDecoder, StreamFormat, StreamOutcome, decode_all, decoder_for,
};
pub use error::{ErrorClass, ProviderError};
