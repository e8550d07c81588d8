//! Replay: resend a logged request, compare what comes back with what the log says happened.
//!
//! [`request`] rebuilds the request from a record, [`curl`] reads and writes curl command lines, [`edit`] shows it as text and reads the text back, [`safety`] keeps
//! it careful (allowlist, unsafe methods, secrets), [`retry`] and [`breaker`] decide when to send again, [`send`]
//! sends one request with its retries, and [`batch`] replays many under a rate, a concurrency and a circuit breaker.

pub mod batch;
pub mod breaker;
pub mod compare;
pub mod curl;
pub mod edit;
pub mod failure;
pub mod request;
pub mod retry;
pub mod route;
pub mod safety;
pub mod select;
pub mod send;
pub mod settings;
pub mod show;
pub mod tls;
pub mod upstream;

pub use request::{BuildOptions, Request, is_idempotent};
pub use safety::Redactor;
