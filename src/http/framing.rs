//! STUB: request framing; replaced by the real implementation.
