//! End-to-end tests of the SELECT executor over a real store.
