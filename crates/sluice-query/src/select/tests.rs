//! Tests of the executor's own algorithms: the replay of Go's heap merge (which fixes
//! 1.6.7's order of equal times), SLIMIT/SOFFSET as `LimitTagSets`, LIMIT/OFFSET.
//! The golden corpus (tests/golden/query) checks whole answers against InfluxDB 1.6.7.

use super::*;

fn group(name: &str) -> Group {
    Group {
        tags: vec![("host".into(), name.into())],
        series: Vec::new(),
    }
}

fn names(groups: &[Group]) -> Vec<String> {
    groups.iter().map(|g| g.tags[0].1.clone()).collect()
}

#[test]
fn heap_merge_replays_go_heap_ties() {
    // Three series a, b, c (key order) with InfluxDB's cpu dataset times in seconds:
    // 1.6.7 answers t=0 as a, c, b and t=40 as c, a, b (recorded in the golden corpus).
    let a: Vec<(i64, char)> = (0..12).map(|i| (i * 10, 'a')).collect();
    let b: Vec<(i64, char)> = [0, 10, 20, 40, 50, 70, 90, 100, 110]
        .iter()
        .map(|&t| (t, 'b'))
        .collect();
    let c: Vec<(i64, char)> = (0..6).map(|i| (i * 20, 'c')).collect();
    let merged = heap_merge(vec![a, b, c], |x, y| x.0 < y.0);
    let order: String = merged.iter().map(|(_, s)| *s).collect();
    assert!(order.starts_with("acbabab"), "{order}");
    let at_40: String = merged
        .iter()
        .filter(|(t, _)| *t == 40)
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(at_40, "cab");
    assert_eq!(merged.len(), 27);
    assert!(merged.windows(2).all(|w| w[0].0 <= w[1].0));
}

#[test]
fn heap_merge_of_nothing() {
    let merged: Vec<i64> = heap_merge(vec![Vec::new(), Vec::new()], |a, b| a < b);
    assert!(merged.is_empty());
}

#[test]
fn series_limits_follow_limit_tag_sets() {
    let all = || vec![group("a"), group("b"), group("c")];
    assert_eq!(names(&limit_groups(all(), 0, 0)), vec!["a", "b", "c"]);
    assert_eq!(names(&limit_groups(all(), 2, 0)), vec!["a", "b"]);
    assert_eq!(names(&limit_groups(all(), 1, 1)), vec!["b"]);
    // 1.6.7: an offset without a limit selects nothing.
    assert!(limit_groups(all(), 0, 1).is_empty());
    assert!(limit_groups(all(), 5, 4).is_empty());
    assert_eq!(names(&limit_groups(all(), 5, 2)), vec!["c"]);
}

#[test]
fn row_limits() {
    let rows = |n: i64| (0..n).map(|i| vec![Value::Integer(i)]).collect::<Vec<_>>();
    assert_eq!(
        apply_limit(rows(5), 2, 1),
        vec![vec![Value::Integer(1)], vec![Value::Integer(2)]]
    );
    assert!(apply_limit(rows(5), 0, 5).is_empty());
    assert_eq!(apply_limit(rows(5), 0, 0).len(), 5);
}
