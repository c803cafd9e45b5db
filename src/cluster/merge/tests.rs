use super::*;

use std::collections::BTreeMap;

use proptest::prelude::*;

/// One point of the generated data: its series, shard, time and value.
type RawPoint = (u32, u64, i64, Value);

/// The single-node computation: every unit's points pushed in unit order, each unit ended.
fn whole(
    function: &str,
    pick: EdgePick,
    units: &BTreeMap<UnitKey, Vec<(i64, Value)>>,
) -> Vec<Point> {
    let sample = units.values().next().unwrap()[0].1.clone();
    let mut accumulator = Accumulator::new(function, &sample).with_edge_pick(pick);
    for (key, points) in units {
        for (time, value) in points {
            accumulator.push(*time, value, key.series);
        }
        accumulator.end_partial();
    }
    finish(function, accumulator, &CallArgs::default(), 0)
}

fn units_of(points: &[RawPoint]) -> BTreeMap<UnitKey, Vec<(i64, Value)>> {
    let mut units: BTreeMap<UnitKey, Vec<(i64, Value)>> = BTreeMap::new();
    for (series, shard, time, value) in points {
        let key = UnitKey {
            series: *series,
            shard_start_ns: *shard as i64 * 1_000,
            shard_id: *shard,
        };
        units
            .entry(key)
            .or_default()
            .push((*shard as i64 * 1_000 + time, value.clone()));
    }
    for points in units.values_mut() {
        points.sort_by_key(|(time, _)| *time); // a shard reads a series in time order
    }
    units
}

fn value_strategy(integers: bool) -> BoxedStrategy<Value> {
    if integers {
        prop_oneof![any::<i64>(), -50i64..50]
            .prop_map(Value::Integer)
            .boxed()
    } else {
        prop_oneof![
            -1.0e12f64..1.0e12,
            -1.0f64..1.0,
            (-20i32..20).prop_map(f64::from),
            (any::<i32>(), -40i32..40).prop_map(|(m, e)| f64::from(m) * 2f64.powi(e)),
        ]
        .prop_map(Value::Float)
        .boxed()
    }
}

fn points_strategy() -> impl Strategy<Value = (bool, Vec<RawPoint>)> {
    any::<bool>().prop_flat_map(|integers| {
        let point = (0u32..3, 0u64..4, 0i64..200, value_strategy(integers));
        (Just(integers), prop::collection::vec(point, 1..80))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    /// However the units are spread over owners and in whatever order the owners answer,
    /// the merge equals the single-node computation, float bits and tie-broken points
    /// included.
    #[test]
    fn merging_per_owner_partials_equals_the_whole_computation(
        (_integers, points) in points_strategy(),
        function in 0usize..MERGEABLE_FUNCTIONS.len(),
        pick in 0usize..3,
        placement in prop::collection::vec(0usize..3, 48),
        answer_order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        let function = MERGEABLE_FUNCTIONS[function];
        let pick = [EdgePick::HeapFirstTwo, EdgePick::KeyOrderFirstTwo, EdgePick::Best][pick];
        let units = units_of(&points);
        let expected = whole(function, pick, &units);
        let mut per_owner: Vec<Vec<(UnitKey, Partial)>> = vec![Vec::new(); 3];
        for (index, (key, unit_points)) in units.iter().enumerate() {
            let partial = partial_of(function, pick, unit_points, key.series).unwrap();
            per_owner[placement[index % placement.len()]].push((*key, partial));
        }
        // Owners answer in some order, each its units in some order.
        let mut arrived = Vec::new();
        let mut order = answer_order;
        while !per_owner.is_empty() {
            let mut owner = per_owner.remove((order % per_owner.len() as u64) as usize);
            order /= 3;
            if order % 2 == 1 {
                owner.reverse();
            }
            arrived.extend(owner);
        }
        let sample = units.values().next().unwrap()[0].1.clone();
        let merged = merge(function, &sample, pick, arrived, 0);
        // Debug prints floats exactly enough to tell bits apart (-0.0 from 0.0 included).
        prop_assert_eq!(format!("{merged:?}"), format!("{expected:?}"));
    }
}

#[test]
fn functions_that_do_not_merge_exactly_have_no_partial() {
    let points = [(1, Value::Float(1.0))];
    assert!(partial_of("median", EdgePick::Best, &points, 0).is_none());
    assert!(partial_of("stddev", EdgePick::Best, &points, 0).is_none());
    assert!(partial_of("sum", EdgePick::Best, &[], 0).is_none());
    assert_eq!(
        partial_of("count", EdgePick::Best, &points, 0),
        Some(Partial::Count(1))
    );
}

#[test]
fn a_mean_over_two_owners_is_the_weighted_mean_of_their_units() {
    let a = partial_of(
        "mean",
        EdgePick::Best,
        &[(1, Value::Float(1.0)), (2, Value::Float(2.0))],
        0,
    )
    .unwrap();
    let b = partial_of("mean", EdgePick::Best, &[(5, Value::Float(6.0))], 0).unwrap();
    let key = |shard| UnitKey {
        series: 0,
        shard_start_ns: shard,
        shard_id: shard as u64,
    };
    let merged = merge(
        "mean",
        &Value::Float(0.0),
        EdgePick::Best,
        vec![(key(2), b), (key(1), a)],
        0,
    );
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].value, Value::Float(3.0));
}
