//! The order in which 1.6.7 hands the per-series partials of an aggregate to its final
//! reducer, replayed so that `sum()` and `mean()` over several series add their float
//! partials in the same order and round to the same last bits.
//!
//! Owns only the ordering; the partials themselves are opaque (`T`). Input: per shard (in
//! the order the query maps them), one stream per series of the group that the shard holds
//! (in series key order; a series may hold no point in the range and still count, as its
//! empty iterator does in 1.6.7), each stream one partial per window, in the query's
//! window order. Output: every partial exactly once, in 1.6.7's order.
//!
//! What 1.6.7 does, per shard and group (tag set):
//!
//! ```text
//!  series s0 s1 s2 s3 s4      P = GOMAXPROCS groups of n = len / P (the last takes the rest)
//!         └─┬─┘  └──┬───┘
//!        heap merge heap merge  per group: Go container/heap, Less = window start
//!           └────┬────┘
//!            heap merge          the groups: a popped group gives all its points of the
//!                                window, then goes back on the heap
//! ```
//!
//! then each shard's reducer folds its merged stream to one partial per window (the
//! caller does that), and those per-shard partials are heap-merged the same way
//! ([`merge_shards`]) and folded again. A merge with one input is that input. Equal windows
//! come out in the order the heap's shape gives them, so the whole sequence is replayed
//! ([`super::heap_merge`]), not just each window. Under ORDER BY time DESC the windows
//! descend and the caller reverses the series of the group first, as 1.6.7 reverses a tag
//! set's series.
//!
//! Checked against influxd 1.6.7 byte for byte by `tools/merge_order_diff.py` (windows
//! inside and across shards, series missing from a shard, DESC, GROUP BY tag, P = 1..3) and
//! the `merge/*` golden cases.
//!
//! Not replayed: the shard-level heap also holds the other groups' points (1.6.7 merges
//! every tag set of a shard in one iterator), which can change the order of equal windows
//! of *different shards*: only a window that spans a shard boundary has those, under
//! GROUP BY a tag.

use super::heap_merge;

/// One partial: its window start and value.
pub(super) type Partial<T> = (i64, T);

/// Window order of two partials: `ascending` earlier first, else later first.
fn window_less<T>(ascending: bool) -> impl Fn(&Partial<T>, &Partial<T>) -> bool {
    move |a, b| if ascending { a.0 < b.0 } else { a.0 > b.0 }
}

/// 1.6.7's merge iterator over inputs that each give several points of a window in a row:
/// a popped input gives all of its consecutive points of that window, then goes back on the
/// heap. `inputs` are already in their own window order.
fn merge_by_window_runs<T>(inputs: Vec<Vec<Partial<T>>>, ascending: bool) -> Vec<Partial<T>> {
    if inputs.len() == 1 {
        return inputs.into_iter().flatten().collect();
    }
    let runs: Vec<Vec<Vec<Partial<T>>>> = inputs.into_iter().map(split_runs).collect();
    let run_less = |a: &Vec<Partial<T>>, b: &Vec<Partial<T>>| match (a.first(), b.first()) {
        (Some(x), Some(y)) => window_less(ascending)(x, y),
        _ => false,
    };
    heap_merge(runs, run_less).into_iter().flatten().collect()
}

/// Consecutive partials of one window together.
fn split_runs<T>(stream: Vec<Partial<T>>) -> Vec<Vec<Partial<T>>> {
    let mut runs: Vec<Vec<Partial<T>>> = Vec::new();
    for partial in stream {
        match runs.last_mut() {
            Some(run) if run.first().is_some_and(|first| first.0 == partial.0) => run.push(partial),
            _ => runs.push(vec![partial]),
        }
    }
    runs
}

/// One shard's series streams merged as 1.6.7's `NewParallelMergeIterator` with
/// `parallelism` (≥ 1) groups.
pub(super) fn parallel_merge<T>(
    series: Vec<Vec<Partial<T>>>,
    parallelism: usize,
    ascending: bool,
) -> Vec<Partial<T>> {
    if series.len() <= 1 {
        return series.into_iter().flatten().collect();
    }
    let groups_count = parallelism.clamp(1, series.len());
    let per_group = series.len() / groups_count;
    let mut rest = series;
    let mut groups: Vec<Vec<Vec<Partial<T>>>> = Vec::with_capacity(groups_count);
    for _ in 1..groups_count {
        let tail = rest.split_off(per_group);
        groups.push(rest);
        rest = tail;
    }
    groups.push(rest);
    let merged: Vec<Vec<Partial<T>>> = groups
        .into_iter()
        .map(|group| {
            if group.len() == 1 {
                group.into_iter().flatten().collect()
            } else {
                heap_merge(group, window_less(ascending))
            }
        })
        .collect();
    merge_by_window_runs(merged, ascending)
}

/// The shards' merged streams (each from [`parallel_merge`]), in the order 1.6.7's merge
/// over shards gives them.
pub(super) fn merge_shards<T>(shards: Vec<Vec<Partial<T>>>, ascending: bool) -> Vec<Partial<T>> {
    let shards: Vec<Vec<Partial<T>>> = shards.into_iter().filter(|s| !s.is_empty()).collect();
    merge_by_window_runs(shards, ascending)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(series: u32, windows: &[i64]) -> Vec<Partial<u32>> {
        windows.iter().map(|w| (*w, series)).collect()
    }

    fn series_order(merged: &[Partial<u32>], window: i64) -> Vec<u32> {
        merged
            .iter()
            .filter(|p| p.0 == window)
            .map(|p| p.1)
            .collect()
    }

    #[test]
    fn one_group_is_go_heap_order() {
        // Go's heap.Init over 3 equal items keeps [0, 1, 2]; Pop swaps the root with the
        // last, so item 0 comes first, then 2 (now the root), then 1.
        let series: Vec<_> = (0..3).map(|s| stream(s, &[0])).collect();
        let merged = parallel_merge(series, 1, true);
        assert_eq!(series_order(&merged, 0), vec![0, 2, 1]);
    }

    #[test]
    fn groups_give_their_points_of_a_window_together() {
        // 5 series, 2 groups: [0, 1] and [2, 3, 4] (the last takes the rest).
        let series: Vec<_> = (0..5).map(|s| stream(s, &[0, 10, 20])).collect();
        let merged = parallel_merge(series, 2, true);
        assert_eq!(merged.len(), 15);
        for window in [0, 10, 20] {
            let order = series_order(&merged, window);
            let first_group: Vec<bool> = order.iter().map(|s| *s < 2).collect();
            let switches = first_group.windows(2).filter(|w| w[0] != w[1]).count();
            assert_eq!(switches, 1, "window {window}: {order:?}");
        }
        // windows come out in order
        assert!(merged.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn descending_windows() {
        let series: Vec<_> = (0..4).map(|s| stream(s, &[20, 10])).collect();
        let merged = parallel_merge(series, 2, false);
        assert!(merged.windows(2).all(|w| w[0].0 >= w[1].0));
        assert_eq!(merged.len(), 8);
    }

    #[test]
    fn more_groups_than_series_and_empty_streams() {
        let series = vec![stream(0, &[0]), Vec::new(), stream(2, &[0, 5])];
        let merged = parallel_merge(series, 8, true);
        assert_eq!(merged.len(), 3);
        let shards = merge_shards(vec![merged, Vec::new(), stream(9, &[0])], true);
        assert_eq!(shards.len(), 4);
    }
}
