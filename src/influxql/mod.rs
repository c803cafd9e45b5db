//! STUB: InfluxQL; replaced by the real implementation.
