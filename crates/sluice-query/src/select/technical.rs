//! The technical-analysis functions of InfluxQL: `exponential_moving_average`,
//! `double_exponential_moving_average`, `triple_exponential_moving_average`,
//! `relative_strength_index`, `triple_exponential_derivative`,
//! `kaufmans_efficiency_ratio`, `kaufmans_adaptive_moving_average` and
//! `chande_momentum_oscillator`, answering as InfluxDB 1.6.7 does, bit for bit.
//!
//! Owns the resolution of such a call to a typed [`IndicatorSpec`] (once, with 1.6.7's
//! compile errors for its period, hold period and warmup arguments; the field argument is
//! checked by [`super::plan`]) and the indicators themselves ([`apply`]): pure functions of
//! a point sequence. Which points are fed (raw points of a group, or an aggregate's filled
//! windows read from one interval before the range) is the executor's business
//! ([`super::aggregate`]).
//!
//! # Semantics (1.6.7)
//!
//! Each indicator is a state machine fed the points of one group in output order (nulls are
//! skipped before it); after every point it has a value, which is emitted at that point's
//! time once more points than the *hold period* have been fed. The hold period defaults to
//! the indicator's warm-up count (`period - 1` for the moving averages warmed up
//! exponentially, more when warmed up with simple averages, `period` for RSI, KER, KAMA
//! and the smoothed CMO). `kaufmans_*` and `triple_exponential_derivative` drop infinite
//! values; the others emit them (a NaN answers `null`, as 1.6.7's cursor makes it).
//!
//! Arithmetic is InfluxDB's, operation for operation: exponential averages
//! `(v − last)·α + last` with `α = 2/(period+1)` (`2/(n+1)` for the n-th point while
//! warming up, or the running simple mean), RSI and the smoothed CMO on averages of gains and
//! losses with `α = 1/period`, the plain CMO and KER on running sums over a ring of the last
//! points, KAMA's smoothing constant `(er·(2/3 − 2/31) + 2/31)²` with the constant folded
//! exactly as Go folds constant expressions, and Go's `math.Pow` ([`go_math::powi`]).
//!
//! # Invariants
//!
//! * Memory does not grow with the period: the rings of CMO and KER start as `period` zero
//!   points and are materialised only as far as points have been written
//!   ([`ZeroRing`]), so `kaufmans_efficiency_ratio(v, 9223372036854775807)` costs what its
//!   points cost.
//! * Counters wrap as 1.6.7's do (`uint32` hold periods and counts, `int` periods).
//! * `chande_momentum_oscillator(x, 1)` (plain, `'none'`) has an empty ring: fed a point it
//!   fails, as 1.6.7 does (with an error of its own, not 1.6.7's panic text).

use sluice_influxql::ast::{Call, Expr, Literal};

use super::go_math;

/// One of the eight technical-analysis functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indicator {
    /// `exponential_moving_average`
    ExponentialMovingAverage,
    /// `double_exponential_moving_average`
    DoubleExponentialMovingAverage,
    /// `triple_exponential_moving_average`
    TripleExponentialMovingAverage,
    /// `relative_strength_index`
    RelativeStrengthIndex,
    /// `triple_exponential_derivative` (TRIX)
    TripleExponentialDerivative,
    /// `kaufmans_efficiency_ratio`
    KaufmansEfficiencyRatio,
    /// `kaufmans_adaptive_moving_average`
    KaufmansAdaptiveMovingAverage,
    /// `chande_momentum_oscillator`
    ChandeMomentumOscillator,
}

impl Indicator {
    /// Every indicator.
    pub const ALL: [Indicator; 8] = [
        Indicator::ExponentialMovingAverage,
        Indicator::DoubleExponentialMovingAverage,
        Indicator::TripleExponentialMovingAverage,
        Indicator::RelativeStrengthIndex,
        Indicator::TripleExponentialDerivative,
        Indicator::KaufmansEfficiencyRatio,
        Indicator::KaufmansAdaptiveMovingAverage,
        Indicator::ChandeMomentumOscillator,
    ];

    /// The indicator a function name (as the parser gives it, lower case) names.
    pub fn from_name(name: &str) -> Option<Indicator> {
        Indicator::ALL.into_iter().find(|i| i.name() == name)
    }

    /// The InfluxQL function name.
    pub fn name(self) -> &'static str {
        match self {
            Indicator::ExponentialMovingAverage => "exponential_moving_average",
            Indicator::DoubleExponentialMovingAverage => "double_exponential_moving_average",
            Indicator::TripleExponentialMovingAverage => "triple_exponential_moving_average",
            Indicator::RelativeStrengthIndex => "relative_strength_index",
            Indicator::TripleExponentialDerivative => "triple_exponential_derivative",
            Indicator::KaufmansEfficiencyRatio => "kaufmans_efficiency_ratio",
            Indicator::KaufmansAdaptiveMovingAverage => "kaufmans_adaptive_moving_average",
            Indicator::ChandeMomentumOscillator => "chande_momentum_oscillator",
        }
    }

    /// How 1.6.7 names the function in `unsupported … iterator type` errors.
    pub fn iterator_name(self) -> &'static str {
        match self {
            Indicator::ExponentialMovingAverage => "exponential moving average",
            Indicator::DoubleExponentialMovingAverage => "double exponential moving average",
            Indicator::TripleExponentialMovingAverage => "triple exponential moving average",
            Indicator::RelativeStrengthIndex => "relative strength index",
            Indicator::TripleExponentialDerivative => "triple exponential derivative",
            Indicator::KaufmansEfficiencyRatio => "kaufmans efficiency ratio",
            Indicator::KaufmansAdaptiveMovingAverage => "kaufmans adaptive moving average",
            Indicator::ChandeMomentumOscillator => "chande momentum oscillator",
        }
    }

    fn is_kaufmans(self) -> bool {
        matches!(
            self,
            Indicator::KaufmansEfficiencyRatio | Indicator::KaufmansAdaptiveMovingAverage
        )
    }

    /// Whether infinite values are dropped instead of emitted.
    fn drops_infinities(self) -> bool {
        matches!(
            self,
            Indicator::TripleExponentialDerivative
                | Indicator::KaufmansEfficiencyRatio
                | Indicator::KaufmansAdaptiveMovingAverage
        )
    }
}

/// How an indicator's exponential averages behave before they have seen `period` points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warmup {
    /// `'exponential'` (the default): exponential from the first point, the n-th point
    /// weighted `2/(n+1)` so the first ones do not dominate
    Exponential,
    /// `'simple'`: the running simple mean until `period` points were seen
    Simple,
    /// `'none'` (`chande_momentum_oscillator` only, and its default): the plain oscillator
    /// on sums over the last `period` points, no averages at all
    None,
}

/// A technical-analysis call resolved once: the function and its arguments besides the
/// field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndicatorSpec {
    /// the function
    pub indicator: Indicator,
    /// the period (at least 1)
    pub period: i64,
    /// the hold period: how many first values are not emitted (`-1`: the warm-up count)
    pub hold: i64,
    /// the warm-up of the averages
    pub warmup: Warmup,
}

impl IndicatorSpec {
    /// Resolves `call` (whose name is `indicator`'s) with 1.6.7's checks of its argument
    /// count, period, hold period and warmup type, in 1.6.7's order and with its texts.
    pub fn resolve(indicator: Indicator, call: &Call) -> Result<IndicatorSpec, String> {
        let name = indicator.name();
        let max_args = if indicator.is_kaufmans() { 3 } else { 4 };
        let got = call.args.len();
        if !(2..=max_args).contains(&got) {
            return Err(format!(
                "invalid number of arguments for {name}, expected at least 2 but no more than \
                 {max_args}, got {got}"
            ));
        }
        let period = match call.args.get(1) {
            Some(Expr::Literal(Literal::Integer(period))) => *period,
            _ => return Err(format!("{name} period must be an integer")),
        };
        if period < 1 {
            return Err(format!("{name} period must be greater than or equal to 1"));
        }
        let hold = match call.args.get(2) {
            None => -1,
            Some(Expr::Literal(Literal::Integer(hold))) => {
                let hold = *hold;
                if indicator == Indicator::TripleExponentialDerivative && hold < 1 && hold != -1 {
                    return Err(format!(
                        "{name} hold period must be greater than or equal to 1"
                    ));
                }
                if hold < 0 && hold != -1 {
                    return Err(format!(
                        "{name} hold period must be greater than or equal to 0"
                    ));
                }
                hold
            }
            Some(_) => return Err(format!("{name} hold period must be an integer")),
        };
        let cmo = indicator == Indicator::ChandeMomentumOscillator;
        let warmup = match call.args.get(3) {
            None if cmo => Warmup::None,
            None => Warmup::Exponential,
            Some(Expr::Literal(Literal::String(text))) => match text.as_str() {
                "exponential" => Warmup::Exponential,
                "simple" => Warmup::Simple,
                "none" if cmo => Warmup::None,
                _ if cmo => {
                    return Err(format!(
                        "{name} warmup type must be one of: 'none' 'exponential' 'simple'"
                    ))
                }
                _ => {
                    return Err(format!(
                        "{name} warmup type must be one of: 'exponential' 'simple'"
                    ))
                }
            },
            Some(_) => return Err(format!("{name} warmup type must be a string")),
        };
        Ok(IndicatorSpec {
            indicator,
            period,
            hold,
            warmup,
        })
    }
}

/// 1.6.7's failure on the plain oscillator of period 1 (its ring of `period - 1` changes is
/// empty and it indexes past it on the first point).
const EMPTY_RING_ERROR: &str =
    "chande_momentum_oscillator: runtime error: index out of range [1] with length 0";

/// Runs the indicator over `points` (time, value) in the order given: the emitted
/// (time, value) pairs, or 1.6.7's failure ([`EMPTY_RING_ERROR`]).
pub fn apply(
    spec: &IndicatorSpec,
    points: impl IntoIterator<Item = (i64, f64)>,
) -> Result<Vec<(i64, f64)>, String> {
    let mut state = State::new(spec);
    // 1.6.7 keeps the hold period and the count as uint32 (its conversions truncate).
    let hold = if spec.hold == -1 {
        state.warm_count() as u32
    } else {
        spec.hold as u32
    };
    let mut count: u32 = 0;
    let mut emitted = Vec::new();
    for (time, value) in points {
        let result = state.add(value).ok_or(EMPTY_RING_ERROR)?;
        count = count.wrapping_add(1);
        if count <= hold {
            continue;
        }
        if spec.indicator.drops_infinities() && result.is_infinite() {
            continue;
        }
        emitted.push((time, result));
    }
    Ok(emitted)
}

/// An exponential moving average (gota's EMA, as 1.6.7 vendors it).
#[derive(Clone, Debug)]
struct Ema {
    period: i64,
    alpha: f64,
    /// `Simple` or `Exponential`
    warmup: Warmup,
    last: f64,
    /// points seen, up to `period`
    count: i64,
}

impl Ema {
    fn new(period: i64, warmup: Warmup) -> Ema {
        Ema {
            period,
            alpha: 2.0 / period.wrapping_add(1) as f64,
            warmup,
            last: 0.0,
            count: 0,
        }
    }

    /// RSI's and the smoothed CMO's average: `period + 1` points to warm up, `α = 1/period`.
    fn wilder(period: i64, warmup: Warmup) -> Ema {
        Ema {
            alpha: 1.0 / period as f64,
            ..Ema::new(period.wrapping_add(1), warmup)
        }
    }

    fn warmed(&self) -> bool {
        self.count == self.period
    }

    fn warm_count(&self) -> i64 {
        self.period.wrapping_sub(1)
    }

    fn add(&mut self, value: f64) -> f64 {
        let average = if self.count == 0 {
            value
        } else if self.warmed() {
            (value - self.last) * self.alpha + self.last
        } else if self.warmup == Warmup::Simple {
            (self.last * self.count as f64 + value) / self.count.wrapping_add(1) as f64
        } else {
            let alpha = 2.0 / self.count.wrapping_add(2) as f64;
            (value - self.last) * alpha + self.last
        };
        self.last = average;
        if self.count < self.period {
            self.count += 1;
        }
        average
    }

    /// Whether the next average of a chain is fed this one's value (it is only once this
    /// one is warmed, unless the warm-up is exponential).
    fn feeds_next(&self) -> bool {
        self.warmed() || self.warmup != Warmup::Simple
    }
}

/// Gains and losses averaged (RSI, and the smoothed CMO).
#[derive(Clone, Debug)]
struct GainLoss {
    up: Ema,
    down: Ema,
    last_value: f64,
}

impl GainLoss {
    fn new(period: i64, warmup: Warmup) -> GainLoss {
        GainLoss {
            up: Ema::wilder(period, warmup),
            down: Ema::wilder(period, warmup),
            last_value: 0.0,
        }
    }

    fn add(&mut self, value: f64) -> (f64, f64) {
        let (mut up, mut down) = (0.0, 0.0);
        if value > self.last_value {
            up = value - self.last_value;
        } else if value < self.last_value {
            down = self.last_value - value;
        }
        self.up.add(up);
        self.down.add(down);
        self.last_value = value;
        (self.up.last, self.down.last)
    }
}

/// `period` slots that all start as the zero value, materialised only up to the highest
/// slot written so far (the rings of CMO and KER; see the module's invariants).
#[derive(Clone, Debug)]
struct ZeroRing<T: Copy + Default> {
    len: usize,
    written: Vec<T>,
}

impl<T: Copy + Default> ZeroRing<T> {
    fn new(len: usize) -> ZeroRing<T> {
        ZeroRing {
            len,
            written: Vec::new(),
        }
    }

    fn get(&self, index: usize) -> T {
        self.written.get(index).copied().unwrap_or_default()
    }

    fn set(&mut self, index: usize, value: T) {
        if index >= self.written.len() {
            self.written.resize(index + 1, T::default());
        }
        if let Some(slot) = self.written.get_mut(index) {
            *slot = value;
        }
    }
}

/// A price and its change from the previous one.
#[derive(Clone, Copy, Debug, Default)]
struct Change {
    price: f64,
    difference: f64,
}

/// The plain Chande momentum oscillator: sums of the gains and losses of the last
/// `period - 1` changes.
#[derive(Clone, Debug)]
struct Cmo {
    ring: ZeroRing<Change>,
    sum_up: f64,
    sum_down: f64,
    count: usize,
    newest: usize,
}

impl Cmo {
    fn warmed(&self) -> bool {
        self.count == self.ring.len.wrapping_add(2)
    }

    /// `None` where 1.6.7 indexes past its zero-length ring (period 1) and fails.
    fn add(&mut self, value: f64) -> Option<f64> {
        let len = self.ring.len;
        if len == 0 {
            return None;
        }
        let mut oldest = self.newest + 1;
        if oldest == len {
            oldest = 0;
        }
        let mut difference = 0.0;
        if self.count != 0 {
            difference = value - self.ring.get(self.newest).price;
            if difference > 0.0 {
                self.sum_up += difference;
            } else if difference < 0.0 {
                self.sum_down -= difference;
            }
        }
        let mut result = 0.0;
        if self.sum_up != 0.0 || self.sum_down != 0.0 {
            result = 100.0 * ((self.sum_up - self.sum_down) / (self.sum_up + self.sum_down));
        }
        let dropped = self.ring.get(oldest);
        if dropped.difference > 0.0 {
            self.sum_up -= dropped.difference;
        } else if dropped.difference < 0.0 {
            self.sum_down += dropped.difference;
        }
        self.ring.set(
            oldest,
            Change {
                price: value,
                difference,
            },
        );
        self.newest = oldest;
        if !self.warmed() {
            self.count += 1;
        }
        Some(result)
    }
}

/// Kaufman's efficiency ratio: the net change over `period` points divided by the sum of
/// the absolute changes.
#[derive(Clone, Debug)]
struct Ker {
    ring: ZeroRing<Change>,
    noise: f64,
    count: usize,
    newest: usize,
}

impl Ker {
    fn new(period: i64) -> Ker {
        Ker {
            ring: ZeroRing::new(usize::try_from(period).unwrap_or(usize::MAX)),
            noise: 0.0,
            count: 0,
            newest: 0,
        }
    }

    fn warmed(&self) -> bool {
        self.count == self.ring.len.wrapping_add(1)
    }

    fn add(&mut self, value: f64) -> f64 {
        let mut oldest = self.newest + 1;
        if oldest >= self.ring.len {
            oldest = 0;
        }
        let dropped = self.ring.get(oldest);
        let signal = (value - dropped.price).abs();
        let change = Change {
            price: value,
            difference: (value - self.ring.get(self.newest).price).abs(),
        };
        self.noise -= dropped.difference;
        self.noise += change.difference;
        self.newest = oldest;
        self.ring.set(oldest, change);
        if !self.warmed() {
            self.count += 1;
        }
        if signal == 0.0 || self.noise == 0.0 {
            return 0.0;
        }
        signal / self.noise
    }
}

/// KAMA's smoothing constant bounds, `2/(2+1) − 2/(30+1)` and `2/(30+1)`: Go folds the
/// constant expression exactly (56/93) before rounding it once, and so does this division.
const KAMA_FAST_MINUS_SLOW: f64 = 56.0 / 93.0;
const KAMA_SLOW: f64 = 2.0 / 31.0;

/// The state of one indicator over one group.
#[derive(Clone, Debug)]
enum State {
    Ema(Ema),
    Dema(Ema, Ema),
    Tema(Ema, Ema, Ema),
    Rsi(GainLoss),
    Trix {
        averages: [Ema; 3],
        last: f64,
        /// values seen since the third average warmed, up to 2
        warm_values: u8,
    },
    Ker(Ker),
    Kama {
        ker: Ker,
        last: f64,
    },
    Cmo(Cmo),
    SmoothedCmo(GainLoss),
}

impl State {
    fn new(spec: &IndicatorSpec) -> State {
        let (period, warmup) = (spec.period, spec.warmup);
        let ema = || Ema::new(period, warmup);
        match spec.indicator {
            Indicator::ExponentialMovingAverage => State::Ema(ema()),
            Indicator::DoubleExponentialMovingAverage => State::Dema(ema(), ema()),
            Indicator::TripleExponentialMovingAverage => State::Tema(ema(), ema(), ema()),
            Indicator::RelativeStrengthIndex => State::Rsi(GainLoss::new(period, warmup)),
            Indicator::TripleExponentialDerivative => State::Trix {
                averages: [ema(), ema(), ema()],
                last: 0.0,
                warm_values: 0,
            },
            Indicator::KaufmansEfficiencyRatio => State::Ker(Ker::new(period)),
            Indicator::KaufmansAdaptiveMovingAverage => State::Kama {
                ker: Ker::new(period),
                last: 0.0,
            },
            Indicator::ChandeMomentumOscillator if warmup == Warmup::None => State::Cmo(Cmo {
                ring: ZeroRing::new(usize::try_from(period - 1).unwrap_or(usize::MAX)),
                sum_up: 0.0,
                sum_down: 0.0,
                count: 0,
                newest: 0,
            }),
            Indicator::ChandeMomentumOscillator => {
                State::SmoothedCmo(GainLoss::new(period, warmup))
            }
        }
    }

    /// How many values make the indicator "warm" (the default hold period).
    fn warm_count(&self) -> i64 {
        match self {
            State::Ema(ema) => ema.warm_count(),
            State::Dema(first, second) => match first.warmup {
                Warmup::Simple => first.warm_count().wrapping_add(second.warm_count()),
                _ => first.warm_count(),
            },
            State::Tema(first, second, third) => match first.warmup {
                Warmup::Simple => first
                    .warm_count()
                    .wrapping_add(second.warm_count())
                    .wrapping_add(third.warm_count()),
                _ => first.warm_count(),
            },
            State::Rsi(averages) | State::SmoothedCmo(averages) => averages.up.warm_count(),
            State::Trix { averages, .. } => {
                let [first, ..] = averages;
                match first.warmup {
                    Warmup::Simple => first.warm_count().wrapping_mul(3).wrapping_add(1),
                    _ => first.warm_count().wrapping_add(1),
                }
            }
            State::Ker(ker) | State::Kama { ker, .. } => ker.ring.len as i64,
            State::Cmo(cmo) => cmo.ring.len as i64,
        }
    }

    /// Feeds one value: the indicator's value after it (`None`: 1.6.7's failure on the
    /// empty ring of a plain oscillator of period 1).
    fn add(&mut self, value: f64) -> Option<f64> {
        let result = match self {
            State::Ema(ema) => ema.add(value),
            State::Dema(first, second) => {
                let average = first.add(value);
                let smoothed = if first.feeds_next() {
                    second.add(average)
                } else {
                    average
                };
                2.0 * average - smoothed
            }
            State::Tema(first, second, third) => {
                let average = first.add(value);
                let smoothed = if first.feeds_next() {
                    second.add(average)
                } else {
                    average
                };
                let twice_smoothed = if second.feeds_next() {
                    third.add(smoothed)
                } else {
                    smoothed
                };
                3.0 * average - 3.0 * smoothed + twice_smoothed
            }
            State::Rsi(averages) => {
                let (up, down) = averages.add(value);
                100.0 - (100.0 / (1.0 + up / down))
            }
            State::SmoothedCmo(averages) => {
                let (up, down) = averages.add(value);
                100.0 * ((up - down) / (up + down))
            }
            State::Trix {
                averages,
                last,
                warm_values,
            } => {
                let [first, second, third] = averages;
                let mut current = first.add(value);
                if first.feeds_next() {
                    current = second.add(current);
                    if second.feeds_next() {
                        current = third.add(current);
                    }
                }
                let rate = ((current / *last) - 1.0) * 100.0;
                *last = current;
                if *warm_values != 2 && third.warmed() {
                    *warm_values += 1;
                }
                rate
            }
            State::Ker(ker) => ker.add(value),
            State::Kama { ker, last } => {
                if !ker.warmed() {
                    *last = ker.ring.get(ker.newest).price;
                }
                let ratio = ker.add(value);
                let smoothing = go_math::powi(ratio * KAMA_FAST_MINUS_SLOW + KAMA_SLOW, 2);
                *last += smoothing * (value - *last);
                *last
            }
            State::Cmo(cmo) => return cmo.add(value),
        };
        Some(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(indicator: Indicator, period: i64, warmup: Warmup) -> IndicatorSpec {
        IndicatorSpec {
            indicator,
            period,
            hold: -1,
            warmup,
        }
    }

    fn run(spec: &IndicatorSpec, values: &[f64]) -> Vec<f64> {
        let points = values.iter().enumerate().map(|(i, v)| (i as i64, *v));
        let emitted = apply(spec, points).expect("not the empty ring");
        emitted.into_iter().map(|(_, v)| v).collect()
    }

    fn call(text: &str) -> Call {
        let query = sluice_influxql::parse_query(&format!("SELECT {text} FROM m"));
        match query.map(|mut q| q.statements.remove(0)) {
            Ok(sluice_influxql::Statement::Select(select)) => match &select.fields[0].expr {
                Expr::Call(call) => call.clone(),
                other => panic!("BUG: not a call: {other:?}"),
            },
            other => panic!("BUG: not a select: {other:?}"),
        }
    }

    fn resolve(text: &str) -> Result<IndicatorSpec, String> {
        let call = call(text);
        let indicator = Indicator::from_name(&call.name).expect("an indicator");
        IndicatorSpec::resolve(indicator, &call)
    }

    #[test]
    fn names_round_trip() {
        for indicator in Indicator::ALL {
            assert_eq!(Indicator::from_name(indicator.name()), Some(indicator));
        }
        assert_eq!(Indicator::from_name("moving_average"), None);
    }

    #[test]
    fn argument_errors_have_influxdb_texts() {
        let cases = [
            (
                "exponential_moving_average(f)",
                "invalid number of arguments for exponential_moving_average, expected at least 2 but no more than 4, got 1",
            ),
            (
                "kaufmans_efficiency_ratio(f, 1, 2, 3)",
                "invalid number of arguments for kaufmans_efficiency_ratio, expected at least 2 but no more than 3, got 4",
            ),
            (
                "relative_strength_index(f, 'x')",
                "relative_strength_index period must be an integer",
            ),
            (
                "chande_momentum_oscillator(f, -1)",
                "chande_momentum_oscillator period must be greater than or equal to 1",
            ),
            (
                "triple_exponential_derivative(f, 3, 0)",
                "triple_exponential_derivative hold period must be greater than or equal to 1",
            ),
            (
                "exponential_moving_average(f, 3, -2)",
                "exponential_moving_average hold period must be greater than or equal to 0",
            ),
            (
                "exponential_moving_average(f, 3, 1.5)",
                "exponential_moving_average hold period must be an integer",
            ),
            (
                "exponential_moving_average(f, 3, -1, 'none')",
                "exponential_moving_average warmup type must be one of: 'exponential' 'simple'",
            ),
            (
                "chande_momentum_oscillator(f, 3, -1, 'x')",
                "chande_momentum_oscillator warmup type must be one of: 'none' 'exponential' 'simple'",
            ),
            (
                "double_exponential_moving_average(f, 3, -1, 1)",
                "double_exponential_moving_average warmup type must be a string",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(resolve(text), Err(expected.to_string()), "{text}");
        }
        let resolved = resolve("chande_momentum_oscillator(f, 4, 2)").expect("valid");
        assert_eq!((resolved.period, resolved.hold), (4, 2));
        assert_eq!(resolved.warmup, Warmup::None);
    }

    #[test]
    fn exponential_moving_average_matches_influxdb() {
        // 1.6.7: exponential_moving_average(f, 3) over 10.5, -2.5, 30 (the heap order of
        // `gen` at 00:00:00) first emits 15.916666666666666.
        let ema = spec(Indicator::ExponentialMovingAverage, 3, Warmup::Exponential);
        assert_eq!(run(&ema, &[10.5, -2.5, 30.0]), vec![15.916666666666666]);
        let simple = spec(Indicator::ExponentialMovingAverage, 3, Warmup::Simple);
        assert_eq!(run(&simple, &[10.5, -2.5, 30.0]), vec![12.666666666666666]);
    }

    #[test]
    fn chande_momentum_oscillator_matches_influxdb() {
        // 1.6.7: chande_momentum_oscillator(f, 3) of host a: 33.33333333333333, 75, 50.
        let cmo = spec(Indicator::ChandeMomentumOscillator, 3, Warmup::None);
        assert_eq!(
            run(&cmo, &[10.5, 12.0, 11.25, 15.0, 14.5]),
            vec![33.33333333333333, 75.0, 50.0]
        );
        // Period 1 has no ring: 1.6.7 fails once fed a point.
        let degenerate = spec(Indicator::ChandeMomentumOscillator, 1, Warmup::None);
        assert_eq!(
            apply(&degenerate, [(0, 1.0)]),
            Err(EMPTY_RING_ERROR.to_string())
        );
        assert_eq!(apply(&degenerate, []), Ok(Vec::new()));
    }

    #[test]
    fn kaufmans_functions_match_influxdb() {
        let host_a = [10.5, 12.0, 11.25, 15.0, 14.5];
        let ker = spec(Indicator::KaufmansEfficiencyRatio, 3, Warmup::Exponential);
        assert_eq!(run(&ker, &host_a), vec![0.75, 0.5]);
        let kama = spec(
            Indicator::KaufmansAdaptiveMovingAverage,
            3,
            Warmup::Exponential,
        );
        assert_eq!(run(&kama, &host_a)[0], 12.248959417273673);
    }

    #[test]
    fn huge_periods_cost_no_memory() {
        let ker = spec(
            Indicator::KaufmansEfficiencyRatio,
            i64::MAX,
            Warmup::Exponential,
        );
        let mut state = State::new(&ker);
        for value in [1.0, 2.0, 4.0] {
            assert!(state.add(value).is_some());
        }
        let State::Ker(ker) = state else {
            panic!("BUG: not a KER state");
        };
        assert!(ker.ring.written.len() <= 4);
    }

    proptest! {
        #[test]
        fn exponential_averages_of_a_constant_are_that_constant(
            value in -1.0e12f64..1.0e12,
            period in 1i64..20,
            length in 1usize..60,
        ) {
            let values = vec![value; length];
            for indicator in [
                Indicator::ExponentialMovingAverage,
                Indicator::DoubleExponentialMovingAverage,
                Indicator::TripleExponentialMovingAverage,
            ] {
                let exponential = spec(indicator, period, Warmup::Exponential);
                for result in run(&exponential, &values) {
                    prop_assert_eq!(result, value);
                }
                let simple = spec(indicator, period, Warmup::Simple);
                for result in run(&simple, &values) {
                    prop_assert!((result - value).abs() <= value.abs() * 1e-12);
                }
            }
        }

        #[test]
        fn a_constant_is_not_efficient(value in -1.0e6f64..1.0e6, period in 1i64..10) {
            let efficiency = spec(Indicator::KaufmansEfficiencyRatio, period, Warmup::Exponential);
            for result in run(&efficiency, &vec![value; 30]) {
                prop_assert_eq!(result, 0.0);
            }
        }

        #[test]
        fn the_hold_period_drops_the_first_values(
            hold in 0i64..30,
            length in 0usize..40,
        ) {
            let ema = IndicatorSpec {
                hold,
                ..spec(Indicator::ExponentialMovingAverage, 3, Warmup::Exponential)
            };
            let emitted = run(&ema, &vec![1.0; length]);
            prop_assert_eq!(emitted.len(), length.saturating_sub(hold as usize));
        }

        #[test]
        fn rising_series_have_full_strength(start in 0.0f64..100.0, period in 2i64..8) {
            let values: Vec<f64> = (0..20).map(|i| start + 1.0 + f64::from(i)).collect();
            let rsi = spec(Indicator::RelativeStrengthIndex, period, Warmup::Exponential);
            for result in run(&rsi, &values) {
                prop_assert_eq!(result, 100.0);
            }
        }
    }
}
