//! The diagnosis overlay's state: the playbook of [`crate::diagnose`] for the selected record, or for the code,
//! route or address selected in the charts (see `diagnosis_update.rs` for how its evidence is gathered).

use crate::diagnose::Diagnosis;

/// What the overlay shows.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosisView {
    /// What was diagnosed: `502 at the selected record`, `route /v1/orders/{id} over the last 5m`.
    pub title: String,
    /// One entry per error status found, most frequent first.
    pub entries: Vec<Diagnosis>,
    /// About the selected record itself: its hops and what its upstream said.
    pub record: Vec<String>,
}
