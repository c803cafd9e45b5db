//! Round-trip proptests for every column type and unit tests per encoding and for the chooser.

use super::*;
use proptest::prelude::*;

fn round_trip_integers(values: &[i64]) -> Vec<u8> {
    let mut encoded = vec![0xAA];
    encode_integers(values, &mut encoded).unwrap();
    let mut decoded = vec![7];
    let read = decode_integers(&encoded[1..], &mut decoded).unwrap();
    assert_eq!(read, encoded.len() - 1, "bytes read");
    assert_eq!(&decoded[1..], values);
    encoded.split_off(1)
}

fn round_trip_floats(values: &[f64]) -> Vec<u8> {
    let mut encoded = Vec::new();
    encode_floats(values, &mut encoded).unwrap();
    encoded.extend_from_slice(b"trailing");
    let mut decoded = Vec::new();
    let read = decode_floats(&encoded, &mut decoded).unwrap();
    assert_eq!(read, encoded.len() - 8, "bytes read");
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&decoded), bits(values));
    encoded.truncate(read);
    encoded
}

fn round_trip_unsigned(values: &[u64]) -> Vec<u8> {
    let mut encoded = Vec::new();
    encode_unsigned(values, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        decode_unsigned(&encoded, &mut decoded).unwrap(),
        encoded.len()
    );
    assert_eq!(decoded, values);
    encoded
}

fn round_trip_booleans(values: &[bool]) -> Vec<u8> {
    let mut encoded = Vec::new();
    encode_booleans(values, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        decode_booleans(&encoded, &mut decoded).unwrap(),
        encoded.len()
    );
    assert_eq!(decoded, values);
    encoded
}

fn round_trip_strings(values: &[Vec<u8>]) -> Vec<u8> {
    let slices: Vec<&[u8]> = values.iter().map(|v| v.as_slice()).collect();
    let mut encoded = Vec::new();
    encode_strings(&slices, &mut encoded).unwrap();
    let mut decoded = Vec::new();
    assert_eq!(
        decode_strings(&encoded, &mut decoded).unwrap(),
        encoded.len()
    );
    assert_eq!(decoded, values);
    encoded
}

const EDGE_INTEGERS: [i64; 7] = [0, 1, -1, i64::MIN, i64::MAX, i64::MIN + 1, i64::MAX - 1];

fn edge_floats() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001),
        f64::from_bits(0xfff8_dead_beef_0001),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        -f64::from_bits(1),
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        0.1,
        1e-300,
    ]
}

fn integer_strategy() -> impl Strategy<Value = Vec<i64>> {
    prop_oneof![
        proptest::collection::vec(any::<i64>(), 0..300),
        proptest::collection::vec(prop::sample::select(EDGE_INTEGERS.to_vec()), 0..100),
        (
            any::<i64>(),
            -1000i64..1000,
            proptest::collection::vec(-3i64..3, 0..600)
        )
            .prop_map(|(start, step, jitter)| {
                let mut value = start;
                jitter
                    .iter()
                    .map(|j| {
                        value = value.wrapping_add(step + j);
                        value
                    })
                    .collect()
            }),
        proptest::collection::vec(0i64..4, 0..600),
    ]
}

fn timestamp_strategy() -> impl Strategy<Value = Vec<i64>> {
    (
        0i64..2_000_000_000_000_000_000,
        prop::sample::select(vec![0i64, 1, 1_000_000_000, 10_000_000_000]),
        proptest::collection::vec(
            prop_oneof![8 => Just(0i64), 1 => 0i64..1000, 1 => Just(-1)],
            0..1000,
        ),
    )
        .prop_map(|(start, interval, jitter)| {
            let mut time = start;
            jitter
                .iter()
                .map(|j| {
                    time += interval + j.max(&0) * 1_000_000;
                    time
                })
                .collect()
        })
}

fn float_strategy() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        proptest::collection::vec(any::<u64>().prop_map(f64::from_bits), 0..200),
        proptest::collection::vec(prop::sample::select(edge_floats()), 0..100),
        (
            -100_000i64..100_000,
            0u32..6,
            proptest::collection::vec(-500i64..500, 0..600)
        )
            .prop_map(|(start, decimals, steps)| {
                let scale = 10f64.powi(decimals as i32);
                let mut mantissa = start;
                steps
                    .iter()
                    .map(|s| {
                        mantissa += s;
                        mantissa as f64 / scale
                    })
                    .collect()
            }),
        (
            any::<f64>(),
            proptest::collection::vec(-1.0f64..1.0, 0..600)
        )
            .prop_map(|(start, steps)| {
                let mut value = if start.is_finite() { start } else { 0.0 };
                steps
                    .iter()
                    .map(|s| {
                        value += s;
                        value
                    })
                    .collect()
            }),
        proptest::collection::vec(
            prop_oneof![
                (-1000i64..1000).prop_map(|m| m as f64 / 100.0),
                prop::sample::select(edge_floats())
            ],
            0..200
        ),
        negative_zero_walk_strategy(),
    ]
}

/// A walk of 0..=3 decimals around zero, rounded the way a client rounds (`round(x·10^d)/10^d`
/// of a signed value), so it produces -0.0 where it sits just below zero; plus -0.0 and +0.0
/// sprinkled in.
fn negative_zero_walk_strategy() -> impl Strategy<Value = Vec<f64>> {
    (
        0u32..4,
        proptest::collection::vec(prop_oneof![6 => -0.6f64..0.6, 1 => Just(f64::NAN)], 1..1200),
    )
        .prop_map(|(decimals, steps)| {
            let scale = 10f64.powi(decimals as i32);
            let mut walk = 0.0f64;
            steps
                .iter()
                .map(|&step| {
                    if step.is_nan() {
                        // Stands for a value that is exactly a signed zero.
                        return if walk < 0.0 { -0.0 } else { 0.0 };
                    }
                    walk = (walk + step).clamp(-2.0, 2.0);
                    (walk * scale).round() / scale
                })
                .collect()
        })
}

/// The tag and size of a column of `values` if -0.0 were +0.0 (what Decimal alone costs).
fn decimal_size_without_negative_zeros(values: &[f64]) -> (u8, usize) {
    let positive: Vec<f64> = values
        .iter()
        .map(|&v| if v == 0.0 { 0.0 } else { v })
        .collect();
    let mut encoded = Vec::new();
    encode_floats(&positive, &mut encoded).unwrap();
    (encoded[0], encoded.len())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn integers_round_trip(values in integer_strategy()) {
        round_trip_integers(&values);
    }

    /// The fast encoder's choices decode to the same values, and are never larger than raw.
    #[test]
    fn fast_encodings_round_trip(
        integers in integer_strategy(),
        times in timestamp_strategy(),
        floats in float_strategy(),
    ) {
        let mut fast = Encoder::fast();
        let mut encoded = Vec::new();
        fast.encode_integers(&integers, &mut encoded).unwrap();
        let mut decoded = Vec::new();
        prop_assert_eq!(decode_integers(&encoded, &mut decoded).unwrap(), encoded.len());
        prop_assert_eq!(&decoded, &integers);
        prop_assert!(encoded.len() <= 2 + 10 + integers.len() * 8);
        encoded.clear();
        fast.encode_timestamps(&times, &mut encoded).unwrap();
        let mut decoded = Vec::new();
        prop_assert_eq!(decode_timestamps(&encoded, &mut decoded).unwrap(), encoded.len());
        prop_assert_eq!(&decoded, &times);
        encoded.clear();
        fast.encode_floats(&floats, &mut encoded).unwrap();
        let mut decoded = Vec::new();
        prop_assert_eq!(decode_floats(&encoded, &mut decoded).unwrap(), encoded.len());
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&decoded), bits(&floats));
        prop_assert!(encoded.len() <= 2 + 10 + floats.len() * 8);
        // Gorilla exactly when it is smaller than raw, as when it was sized first.
        let gorilla_smaller = super::float::gorilla_size_bytes(&floats) < floats.len() * 8;
        let want_tag = if gorilla_smaller {
            super::float::TAG_FLOAT_GORILLA
        } else {
            super::float::TAG_FLOAT_RAW
        };
        prop_assert_eq!(encoded.first().copied(), Some(want_tag));
    }

    #[test]
    fn one_encoder_encodes_repeated_and_changed_timestamps_as_a_fresh_one_does(
        first in timestamp_strategy(),
        second in timestamp_strategy(),
    ) {
        // The encoder remembers the last timestamp column; what it writes must not depend
        // on what it encoded before.
        let mut encoder = Encoder::fast();
        for times in [&first, &first, &second, &first, &second, &second] {
            let mut encoded = Vec::new();
            encoder.encode_timestamps(times, &mut encoded).unwrap();
            let mut fresh = Vec::new();
            Encoder::fast().encode_timestamps(times, &mut fresh).unwrap();
            prop_assert_eq!(&encoded, &fresh);
            let mut decoded = Vec::new();
            prop_assert_eq!(decode_timestamps(&encoded, &mut decoded).unwrap(), encoded.len());
            prop_assert_eq!(&decoded, times);
        }
    }

    #[test]
    fn timestamps_round_trip(values in timestamp_strategy()) {
        let mut encoded = Vec::new();
        encode_timestamps(&values, &mut encoded).unwrap();
        let mut decoded = Vec::new();
        prop_assert_eq!(decode_timestamps(&encoded, &mut decoded).unwrap(), encoded.len());
        prop_assert_eq!(decoded, values);
    }

    #[test]
    fn unsigned_round_trip(values in prop_oneof![
        proptest::collection::vec(any::<u64>(), 0..300),
        proptest::collection::vec(prop::sample::select(vec![0, 1, u64::MAX, u64::MAX - 1, 1 << 63]), 0..100),
        proptest::collection::vec(0u64..100, 0..600).prop_map(|v| {
            let mut sum = 0u64;
            v.iter().map(|x| { sum += x; sum }).collect()
        }),
    ]) {
        round_trip_unsigned(&values);
    }

    #[test]
    fn floats_round_trip_bit_exact(values in float_strategy()) {
        round_trip_floats(&values);
    }

    #[test]
    fn negative_zeros_keep_the_decimal_encoding(values in negative_zero_walk_strategy()) {
        let encoded = round_trip_floats(&values);
        let zeros = values.iter().filter(|v| v.to_bits() == (-0.0f64).to_bits()).count();
        let (plain_tag, plain_bytes) = decimal_size_without_negative_zeros(&values);
        if plain_tag == TAG_FLOAT_DECIMAL {
            // The position list costs at most a count and one varint (≤ 2 bytes) per -0.0.
            prop_assert!(
                encoded.len() <= plain_bytes + 2 + 2 * zeros,
                "{} bytes vs {} without the {} -0.0", encoded.len(), plain_bytes, zeros
            );
            if zeros == 0 {
                prop_assert_eq!(encoded[0], TAG_FLOAT_DECIMAL);
            }
        }
    }

    #[test]
    fn booleans_round_trip(values in prop_oneof![
        proptest::collection::vec(any::<bool>(), 0..1000),
        proptest::collection::vec(prop::bool::weighted(0.02), 0..2000),
    ]) {
        round_trip_booleans(&values);
    }

    #[test]
    fn strings_round_trip(values in prop_oneof![
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..100),
        proptest::collection::vec(prop::sample::select(vec![
            b"us-west-1".to_vec(), b"us-east-2".to_vec(), Vec::new(), b"eu".to_vec(),
        ]), 0..500),
    ]) {
        round_trip_strings(&values);
    }

    #[test]
    fn decoders_never_panic_on_garbage(src in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_integers(&src, &mut Vec::new());
        let _ = decode_unsigned(&src, &mut Vec::new());
        let _ = decode_floats(&src, &mut Vec::new());
        let _ = decode_booleans(&src, &mut Vec::new());
        let _ = decode_strings(&src, &mut Vec::new());
    }

    #[test]
    fn truncated_columns_are_errors(values in integer_strategy(), cut in any::<prop::sample::Index>()) {
        let mut encoded = Vec::new();
        encode_integers(&values, &mut encoded).unwrap();
        let cut = cut.index(encoded.len());
        let mut decoded = vec![42];
        prop_assert!(decode_integers(&encoded[..cut], &mut decoded).is_err());
        prop_assert_eq!(decoded, vec![42], "dst restored on error");
    }
}

#[test]
fn regular_timestamps_run_length_in_a_few_bytes() {
    let values: Vec<i64> = (0..1000)
        .map(|i| 1_600_000_000_000_000_000 + i * 10_000_000_000)
        .collect();
    let mut encoded = Vec::new();
    encode_timestamps(&values, &mut encoded).unwrap();
    assert!(encoded.len() <= 20, "{} bytes", encoded.len());
    let mut decoded = Vec::new();
    decode_timestamps(&encoded, &mut decoded).unwrap();
    assert_eq!(decoded, values);
}

#[test]
fn jittered_timestamps_use_a_packed_stream() {
    let values: Vec<i64> = (0..1000)
        .map(|i| i * 10_000_000_000 + (i * 7919 % 13) * 1_000_000)
        .collect();
    let encoded = round_trip_integers(&values);
    // Jitter of up to 12 ms in ns: 25-bit offsets, far under the 64-bit raw values.
    assert!(encoded.len() < 3200, "{} bytes", encoded.len());
}

#[test]
fn empty_and_single_columns() {
    assert_eq!(round_trip_integers(&[]), vec![TAG_INTEGER_RAW, 0]);
    assert_eq!(round_trip_integers(&[5])[0], TAG_INTEGER_RUN_LENGTH);
    round_trip_floats(&[]);
    round_trip_floats(&[f64::NAN]);
    round_trip_booleans(&[]);
    round_trip_strings(&[]);
    round_trip_strings(&[Vec::new()]);
}

#[test]
fn random_integers_fall_back_to_raw() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let values: Vec<i64> = (0..100)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as i64
        })
        .collect();
    assert_eq!(round_trip_integers(&values)[0], TAG_INTEGER_RAW);
}

#[test]
fn counters_use_delta_of_delta_or_delta() {
    let mut total = 0;
    let values: Vec<i64> = (0..1000)
        .map(|i| {
            total += 100 + (i % 3);
            total
        })
        .collect();
    let encoded = round_trip_integers(&values);
    assert!(encoded.len() < 300, "{} bytes", encoded.len());
}

#[test]
fn simple8b_wins_for_rare_outliers() {
    let values: Vec<i64> = (0..1000)
        .map(|i| if i % 100 == 0 { 1 << 40 } else { i % 2 })
        .collect();
    let mut encoded = Vec::new();
    encode_integers(&values, &mut encoded).unwrap();
    // Bit-packing would need 41 bits a value; Simple-8b packs the 0/1 runs 60 to a word.
    assert!(encoded.len() < 400, "{} bytes", encoded.len());
    round_trip_integers(&values);
}

#[test]
fn two_decimal_floats_use_decimal() {
    let values: Vec<f64> = (0..1000)
        .map(|i| ((i * 37 % 200) as f64 - 100.0) / 100.0 + 50.0)
        .collect();
    let encoded = round_trip_floats(&values);
    assert_eq!(encoded[0], TAG_FLOAT_DECIMAL);
    assert_eq!(encoded[3], 2, "exponent");
}

#[test]
fn decimal_is_refused_for_non_finite_and_subnormal() {
    for special in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::from_bits(1),
    ] {
        let values = [1.5, 2.25, special, 3.0];
        let encoded = round_trip_floats(&values);
        assert_ne!(encoded[0], TAG_FLOAT_DECIMAL, "{special}");
        assert_ne!(encoded[0], TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS, "{special}");
    }
}

#[test]
fn negative_zeros_use_decimal_with_positions() {
    // A 2-decimal walk crossing zero: -0.0 at 3 places, +0.0 at one.
    let mut values: Vec<f64> = (0..1000)
        .map(|i| ((i * 37 % 200) - 50) as f64 / 100.0)
        .collect();
    for position in [0, 7, 999] {
        values[position] = -0.0;
    }
    values[8] = 0.0;
    let encoded = round_trip_floats(&values);
    assert_eq!(encoded[0], TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS);
    assert_eq!(encoded[3], 2, "exponent");
    let (plain_tag, plain_bytes) = decimal_size_without_negative_zeros(&values);
    assert_eq!(plain_tag, TAG_FLOAT_DECIMAL);
    // count 3, positions 0, 7-1 = 6, 999-8 = 991 (2 bytes): 5 bytes more than plain decimal.
    assert_eq!(encoded.len(), plain_bytes + 5);
    assert_eq!(&encoded[encoded.len() - 5..], &[3, 0, 6, 0xDF, 0x07]);
    round_trip_floats(&[-0.0; 300]);
    round_trip_floats(&[-0.0]);
    round_trip_floats(&[-0.0, 0.0, -0.0, 1e15, -1e-15]);
}

/// A hand-built 0x24 column of `mantissas` (exponent 2, raw integers) and position varints.
fn negative_zero_column(mantissas: &[i64], position_varints: &[u8]) -> Vec<u8> {
    let mut column = vec![TAG_FLOAT_DECIMAL_NEGATIVE_ZEROS, mantissas.len() as u8, 2];
    column.push(TAG_INTEGER_RAW);
    for mantissa in mantissas {
        column.extend_from_slice(&mantissa.to_le_bytes());
    }
    column.extend_from_slice(position_varints);
    column
}

#[test]
fn negative_zero_positions_are_checked() {
    let mut decoded = vec![9.0];
    let column = negative_zero_column(&[150, 0, 0], &[2, 1, 0]);
    assert_eq!(decode_floats(&column, &mut decoded), Ok(column.len()));
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&decoded), bits(&[9.0, 1.5, -0.0, -0.0]));
    let bad = [
        (
            &[4u8, 0, 0, 0, 0][..],
            CodecError::Corrupt("more -0.0 positions than values"),
        ),
        (
            &[1, 3][..],
            CodecError::Corrupt("-0.0 position past the column"),
        ),
        (
            &[2, 1, 1][..],
            CodecError::Corrupt("-0.0 position past the column"),
        ),
        (
            &[1, 0][..],
            CodecError::Corrupt("-0.0 position holds a nonzero mantissa"),
        ),
        (&[2, 1][..], CodecError::Truncated),
        (
            &[
                1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01,
            ][..],
            CodecError::Corrupt("-0.0 position past the column"),
        ),
    ];
    for (varints, error) in bad {
        let mut decoded = vec![9.0];
        let column = negative_zero_column(&[150, 0, 0], varints);
        assert_eq!(
            decode_floats(&column, &mut decoded),
            Err(error),
            "{varints:?}"
        );
        assert_eq!(decoded, [9.0], "dst restored");
    }
}

#[test]
fn decimal_columns_written_before_negative_zeros_still_decode() {
    // 0x22, 3 values, exponent 2, raw mantissas 150, 0, -25: unchanged layout.
    let mut column = vec![TAG_FLOAT_DECIMAL, 3, 2, TAG_INTEGER_RAW];
    for mantissa in [150i64, 0, -25] {
        column.extend_from_slice(&mantissa.to_le_bytes());
    }
    let mut decoded = Vec::new();
    assert_eq!(decode_floats(&column, &mut decoded), Ok(column.len()));
    assert_eq!(decoded, [1.5, 0.0, -0.25]);
    assert_eq!(decoded[1].to_bits(), 0);
}

#[test]
fn constant_floats_are_tiny() {
    let encoded = round_trip_floats(&[42.0; 1000]);
    assert!(encoded.len() <= 12, "{} bytes", encoded.len());
}

#[test]
fn full_precision_walk_beats_raw() {
    let mut value = 100.0f64;
    let values: Vec<f64> = (0..1000)
        .map(|i| {
            value += ((i * 7919 % 1000) as f64 - 500.0) / 1000.0 * 0.3731;
            value
        })
        .collect();
    let encoded = round_trip_floats(&values);
    assert!(encoded.len() < 8000);
    assert!(encoded.len() <= gorilla_size_bytes(&values) + 3);
}

#[test]
fn each_float_encoding_decodes() {
    let values = [1.0, 1.5, -2.25, 1e300, f64::NAN];
    let mut raw = vec![TAG_FLOAT_RAW, values.len() as u8];
    for v in values {
        raw.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    let mut decoded = Vec::new();
    assert_eq!(decode_floats(&raw, &mut decoded), Ok(raw.len()));
    assert_eq!(
        decoded.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    let alternating: Vec<f64> = (0..100)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1e-200 })
        .collect();
    round_trip_floats(&alternating);
}

#[test]
fn booleans_choose_run_length_for_long_runs() {
    let mut values = vec![true; 500];
    values.extend(vec![false; 500]);
    let encoded = round_trip_booleans(&values);
    assert_eq!(encoded[0], TAG_BOOLEAN_RUN_LENGTH);
    let alternating: Vec<bool> = (0..1000).map(|i| i % 2 == 0).collect();
    let encoded = round_trip_booleans(&alternating);
    assert_eq!(encoded[0], TAG_BOOLEAN_BIT_PACKED);
    assert_eq!(encoded.len(), 1 + 2 + 125);
}

#[test]
fn repetitive_strings_compress_and_random_ones_stay_raw() {
    let values: Vec<Vec<u8>> = (0..1000)
        .map(|i| format!("server{:02}.example.com", i % 10).into_bytes())
        .collect();
    let encoded = round_trip_strings(&values);
    assert_eq!(encoded[0], TAG_STRING_LZ4);
    assert!(encoded.len() < 2000, "{} bytes", encoded.len());
    let mut state = 0x1234_5678u32;
    let random: Vec<Vec<u8>> = (0..50)
        .map(|_| {
            (0..20)
                .map(|_| {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (state >> 24) as u8
                })
                .collect()
        })
        .collect();
    assert_eq!(round_trip_strings(&random)[0], TAG_STRING_RAW);
}

#[test]
fn hostile_counts_are_refused() {
    let mut src = vec![TAG_INTEGER_RUN_LENGTH];
    bits::put_varint(&mut src, (MAX_VALUES_PER_BLOCK + 1) as u64);
    assert_eq!(
        decode_integers(&src, &mut Vec::new()),
        Err(CodecError::CountTooLarge((MAX_VALUES_PER_BLOCK + 1) as u64))
    );
    let too_many = vec![0i64; MAX_VALUES_PER_BLOCK + 1];
    let mut dst = Vec::new();
    assert!(matches!(
        encode_integers(&too_many, &mut dst),
        Err(CodecError::CountTooLarge(_))
    ));
    assert!(dst.is_empty());
}

#[test]
fn hostile_lz4_expansion_is_refused() {
    // One string claiming 60 MB, "compressed" into 4 bytes.
    let mut src = vec![TAG_STRING_LZ4, 1, TAG_INTEGER_RAW];
    src.extend_from_slice(&60_000_000i64.to_le_bytes());
    src.extend_from_slice(&[4, 0x1f, 0, 0, 0]);
    assert_eq!(
        decode_strings(&src, &mut Vec::new()),
        Err(CodecError::Corrupt("lz4 expansion too large"))
    );
}

#[test]
fn bad_tags_are_typed() {
    assert_eq!(
        decode_floats(&[0x99, 0], &mut Vec::new()),
        Err(CodecError::BadTag(0x99))
    );
    let mut integers = Vec::new();
    encode_integers(&[1, 2, 3], &mut integers).unwrap();
    assert!(matches!(
        decode_floats(&integers, &mut Vec::new()),
        Err(CodecError::BadTag(_))
    ));
    assert_eq!(
        decode_booleans(&[], &mut Vec::new()),
        Err(CodecError::Truncated)
    );
}

#[test]
fn encoder_reuse_matches_free_functions() {
    let mut encoder = Encoder::new();
    for seed in 0..5i64 {
        let values: Vec<i64> = (0..500).map(|i| i * seed * 3 + (i % (seed + 2))).collect();
        let mut reused = Vec::new();
        encoder.encode_integers(&values, &mut reused).unwrap();
        let mut fresh = Vec::new();
        encode_integers(&values, &mut fresh).unwrap();
        assert_eq!(reused, fresh);
    }
}

#[test]
fn varints_and_zigzag() {
    for value in [0u64, 1, 127, 128, 300, u64::MAX >> 1, u64::MAX] {
        let mut buffer = Vec::new();
        bits::put_varint(&mut buffer, value);
        assert_eq!(buffer.len(), bits::varint_size(value));
        assert_eq!(bits::Input::new(&buffer).read_varint(), Ok(value));
    }
    for value in EDGE_INTEGERS {
        assert_eq!(bits::unzigzag(bits::zigzag(value)), value);
    }
    let overlong = [0xff; 11];
    assert!(bits::Input::new(&overlong).read_varint().is_err());
}
