//! `holt_winters(aggregate, N, S)` and `holt_winters_with_fit(aggregate, N, S)`: forecasts
//! of the GROUP BY time() windows of one group, as InfluxDB 1.6.7 computes them, bit for
//! bit.
//!
//! Owns the resolution of such a call to a typed [`HoltWintersSpec`] (once, with 1.6.7's
//! compile errors) and the forecast itself ([`forecast`]): a pure function of the group's
//! non-null window values, which the executor ([`super::aggregate`]) computes and fills
//! over the query's own range (no extra interval, unlike the other transformations).
//!
//! # Algorithm (1.6.7's, operation for operation)
//!
//! 1. The points are put on the interval grid: each time rounded to the nearest multiple of
//!    the interval (halves round down), a point of an already used slot dropped, missing
//!    slots NaN. Descending input has a negative span and yields nothing.
//! 2. Initial level, trend (and, with a season `S ≥ 2`, season factors) from the first
//!    values; the parameters are α, β, γ, φ, level, trend, then the season factors.
//! 3. For each of the 16 starting points α, β, γ, φ ∈ {0.3, 0.7}, Nelder–Mead
//!    ([`nelder_mead`]: reflection 1, contraction ½, expansion 2, at most 1000 iterations,
//!    stopping when the standard deviation of the simplex's values is below 1e-4) minimises
//!    the sum of squared errors of the model run over the data; the first start with the
//!    least error wins.
//! 4. The damped multiplicative model is run over the data and `N` steps on. Its
//!    recursion feeds each step its own previous output (not the observation): the fit
//!    only chooses the parameters.
//!
//! Evaluating the error mutates the point evaluated (α..φ are clamped into [0, 1], the
//! season factors are overwritten by the run), and the optimiser's simplex keeps those
//! mutations, as 1.6.7's does: they change the result.
//!
//! Output: without fit, the `N` forecasts at the last point's time plus 1..N intervals;
//! with fit, every modelled value from the first point's time on. NaN values are skipped.
//!
//! # Bounds
//!
//! The forecast holds `len + N` values and the optimiser an `(n+1)×n` simplex
//! (`n = 6 + S`): before allocating them, the bytes are offered to the caller's budget
//! (`query-memory-limit`), which refuses with an error of its own; the caller's check also
//! runs every optimiser iteration, so KILL QUERY and `query-timeout` stop a long fit.

use sluice_influxql::ast::{Call, Expr, Literal};

use super::go_math;

/// A `holt_winters` / `holt_winters_with_fit` call resolved once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoltWintersSpec {
    /// `N`: how many intervals to forecast past the last point (at least 1)
    pub forecast_count: i64,
    /// `S`: the season length in intervals (below 2: no season)
    pub season_length: i64,
    /// `holt_winters_with_fit`: the modelled values of the data are answered too
    pub with_fit: bool,
}

/// The function names.
const HOLT_WINTERS: &str = "holt_winters";
const HOLT_WINTERS_WITH_FIT: &str = "holt_winters_with_fit";

impl HoltWintersSpec {
    /// Whether `name` is `holt_winters_with_fit` (`Some(false)`: `holt_winters`; `None`:
    /// neither).
    pub fn with_fit_of(name: &str) -> Option<bool> {
        match name {
            HOLT_WINTERS => Some(false),
            HOLT_WINTERS_WITH_FIT => Some(true),
            _ => None,
        }
    }

    /// The InfluxQL function name.
    pub fn name(&self) -> &'static str {
        if self.with_fit {
            HOLT_WINTERS_WITH_FIT
        } else {
            HOLT_WINTERS
        }
    }

    /// Resolves `call` with 1.6.7's checks (argument count, `N`, `S`, an aggregate as the
    /// first argument, a GROUP BY interval), in its order and with its texts. The
    /// aggregate itself is checked by the caller.
    pub fn resolve(
        with_fit: bool,
        call: &Call,
        interval_ns: i64,
    ) -> Result<HoltWintersSpec, String> {
        let name = if with_fit {
            HOLT_WINTERS_WITH_FIT
        } else {
            HOLT_WINTERS
        };
        let got = call.args.len();
        if got != 3 {
            return Err(format!(
                "invalid number of arguments for {name}, expected 3, got {got}"
            ));
        }
        let forecast_count = match call.args.get(1) {
            Some(Expr::Literal(Literal::Integer(n))) => *n,
            _ => return Err(format!("expected integer argument as second arg in {name}")),
        };
        if forecast_count <= 0 {
            return Err(format!(
                "second arg to {name} must be greater than 0, got {forecast_count}"
            ));
        }
        let season_length = match call.args.get(2) {
            Some(Expr::Literal(Literal::Integer(s))) => *s,
            _ => return Err(format!("expected integer argument as third arg in {name}")),
        };
        if season_length < 0 {
            return Err(format!(
                "third arg to {name} cannot be negative, got {season_length}"
            ));
        }
        if !matches!(call.args.first(), Some(Expr::Call(_))) {
            return Err(format!("must use aggregate function with {name}"));
        }
        if interval_ns == 0 {
            return Err(format!("{name} aggregate requires a GROUP BY interval"));
        }
        Ok(HoltWintersSpec {
            forecast_count,
            season_length,
            with_fit,
        })
    }

    fn seasonal(&self) -> bool {
        self.season_length >= 2
    }
}

/// Weight of the first values in the initial level and trend without a season.
const INITIAL_WEIGHT: f64 = 0.5;
/// The optimiser stops when its values' standard deviation is below this.
const FIT_TOLERANCE: f64 = 1.0e-4;
/// Starting grid of α, β, γ, φ: from this value, while below the upper bound, by the step.
const GUESS_LOWER: f64 = 0.3;
const GUESS_UPPER: f64 = 1.0;
const GUESS_STEP: f64 = 0.4;
/// Nelder–Mead's iterations at most, its coefficients and its initial simplex size.
const MAX_ITERATIONS: usize = 1000;
const REFLECTION: f64 = 1.0;
const CONTRACTION: f64 = 0.5;
const EXPANSION: f64 = 2.0;
const SIMPLEX_SCALE: f64 = 1.0;
/// Parameters before the season factors: α, β, γ, φ, level, trend.
const FIXED_PARAMETERS: usize = 6;
const PHI: usize = 3;
const LEVEL: usize = 4;
const TREND: usize = 5;
/// How many steps of the final run go between two checks of the caller's budget (KILL
/// QUERY, `query-timeout`) when `N` is large.
const STEPS_PER_BUDGET_CHECK: usize = 1 << 16;
/// Bytes per value the forecast holds: the series and its model (f64 each), and the
/// answered (time, value).
const BYTES_PER_VALUE: u64 = 8 + 8 + 16;

/// The caller's budget: offered the bytes about to be allocated (0: only a check of
/// KILL QUERY and the deadline), it answers an error to stop.
pub type Budget<'a> = dyn FnMut(u64) -> Result<(), String> + 'a;

/// The forecast of one group's (time, value) points, in time order, on a grid of
/// `interval_ns` (the GROUP BY interval, > 0): the (time, value) pairs 1.6.7 answers.
pub fn forecast(
    spec: &HoltWintersSpec,
    points: &[(i64, f64)],
    interval_ns: i64,
    budget: &mut Budget<'_>,
) -> Result<Vec<(i64, f64)>, String> {
    let (Some(&(first_time, first_value)), Some(&(last_time, _))) = (points.first(), points.last())
    else {
        return Ok(Vec::new());
    };
    let seasonal = spec.seasonal();
    let few_for_season = u64::try_from(spec.season_length)
        .is_ok_and(|season| seasonal && (points.len() as u64) < season);
    if points.len() < 2 || few_for_season || interval_ns <= 0 {
        return Ok(Vec::new());
    }
    let grid = Grid::new(interval_ns);
    let start = grid.round(first_time);
    let span = grid.round(last_time).wrapping_sub(start) / interval_ns;
    if span <= 0 {
        return Ok(Vec::new());
    }
    let slots = u64::try_from(span).unwrap_or(u64::MAX).saturating_add(1);
    let horizon = u64::try_from(spec.forecast_count).unwrap_or(u64::MAX);
    budget(
        slots
            .saturating_add(horizon)
            .saturating_mul(BYTES_PER_VALUE),
    )?;
    let horizon = usize::try_from(horizon).unwrap_or(usize::MAX);
    let too_many = || {
        format!(
            "{}() cannot hold {slots} windows and {horizon} forecasts",
            spec.name()
        )
    };

    let slot_count = usize::try_from(slots).unwrap_or(usize::MAX);
    let mut series = Vec::new();
    series
        .try_reserve_exact(slot_count)
        .map_err(|_| too_many())?;
    series.push(first_value);
    let mut slot_time = start;
    for &(time, value) in points.iter().skip(1) {
        let rounded = grid.round(time);
        if rounded <= slot_time {
            continue;
        }
        slot_time = slot_time.wrapping_add(interval_ns);
        // The slots end at the last point's; the length guard only matters for times so
        // close to the ends of i64 that rounding wraps.
        while rounded != slot_time && series.len() < slot_count {
            series.push(f64::NAN);
            slot_time = slot_time.wrapping_add(interval_ns);
        }
        series.push(value);
    }
    let season = if seasonal {
        usize::try_from(spec.season_length).unwrap_or(usize::MAX)
    } else {
        0
    };
    if series.len() < season {
        // 1.6.7 indexes past its series here and fails; there is nothing to answer.
        return Ok(Vec::new());
    }
    let dimension = FIXED_PARAMETERS + season;
    let dimension_values = dimension as u64;
    let simplex_values = dimension_values
        .saturating_add(1)
        .saturating_mul(dimension_values)
        .saturating_add(dimension_values.saturating_mul(5));
    budget(simplex_values.saturating_mul(8))?;

    let model = Model {
        series: &series,
        season,
    };
    let mut parameters = model.initial_parameters();
    let mut errors = Vec::with_capacity(series.len());
    let mut best: Option<(f64, Vec<f64>)> = None;
    let mut alpha = GUESS_LOWER;
    while alpha < GUESS_UPPER {
        let mut beta = GUESS_LOWER;
        while beta < GUESS_UPPER {
            let mut gamma = GUESS_LOWER;
            while gamma < GUESS_UPPER {
                let mut phi = GUESS_LOWER;
                while phi < GUESS_UPPER {
                    parameters[..4].copy_from_slice(&[alpha, beta, gamma, phi]);
                    let mut objective =
                        |candidate: &mut [f64]| model.squared_error(candidate, &mut errors);
                    let (error, fitted) = nelder_mead(&mut objective, &parameters, budget)?;
                    if best.as_ref().is_none_or(|(least, _)| error < *least) {
                        best = Some((error, fitted));
                    }
                    phi += GUESS_STEP;
                }
                gamma += GUESS_STEP;
            }
            beta += GUESS_STEP;
        }
        alpha += GUESS_STEP;
    }
    let Some((_, mut fitted)) = best else {
        panic!("BUG: the starting grid of holt_winters is not empty");
    };
    let mut modelled = Vec::new();
    modelled
        .try_reserve_exact(series.len().saturating_add(horizon))
        .map_err(|_| too_many())?;
    model.run(horizon, &mut fitted, &mut modelled, Some(budget))?;

    let mut answer = Vec::new();
    let answered = if spec.with_fit {
        modelled.len()
    } else {
        horizon
    };
    answer.try_reserve_exact(answered).map_err(|_| too_many())?;
    if spec.with_fit {
        for (index, value) in modelled.iter().enumerate() {
            if !value.is_nan() {
                let time = first_time.wrapping_add(interval_ns.wrapping_mul(index as i64));
                answer.push((time, *value));
            }
        }
    } else {
        for (index, value) in modelled.iter().skip(series.len()).enumerate() {
            if !value.is_nan() {
                let steps = (index as i64).wrapping_add(1);
                answer.push((
                    last_time.wrapping_add(interval_ns.wrapping_mul(steps)),
                    *value,
                ));
            }
        }
    }
    Ok(answer)
}

/// Rounding of times to the interval grid (Go's truncating division; halves round down).
struct Grid {
    interval_ns: i64,
    half_ns: i64,
}

impl Grid {
    fn new(interval_ns: i64) -> Grid {
        Grid {
            interval_ns,
            half_ns: interval_ns / 2,
        }
    }

    fn round(&self, time: i64) -> i64 {
        let quotient = time / self.interval_ns;
        if time % self.interval_ns > self.half_ns {
            quotient.wrapping_add(1).wrapping_mul(self.interval_ns)
        } else {
            quotient.wrapping_mul(self.interval_ns)
        }
    }
}

/// The series on the grid (NaN: no value) and the season length (0: none).
struct Model<'a> {
    series: &'a [f64],
    season: usize,
}

impl Model<'_> {
    fn value(&self, index: usize) -> f64 {
        self.series.get(index).copied().unwrap_or(f64::NAN)
    }

    /// α..φ zero (set per starting point), then the initial level, trend and season
    /// factors from the first values (missing ones skipped).
    fn initial_parameters(&self) -> Vec<f64> {
        let m = self.season;
        let mut level = 0.0;
        let mut trend = 0.0;
        if m > 0 {
            for i in 0..m {
                let value = self.value(i);
                if !value.is_nan() {
                    level += (1.0 / m as f64) * value;
                }
            }
            for i in 0..m {
                if m + i >= self.series.len() {
                    break;
                }
                let (early, late) = (self.value(i), self.value(m + i));
                if !early.is_nan() && !late.is_nan() {
                    trend += 1.0 / m.wrapping_mul(m) as f64 * (late - early);
                }
            }
        } else {
            level += INITIAL_WEIGHT * self.value(0);
            let second = self.value(1);
            if !second.is_nan() {
                trend = INITIAL_WEIGHT * (second - self.value(0));
            }
        }
        let mut parameters = vec![0.0; FIXED_PARAMETERS + m];
        parameters[LEVEL] = level;
        parameters[TREND] = trend;
        for i in 0..m {
            let value = self.value(i);
            parameters[FIXED_PARAMETERS + i] = if value.is_nan() { 0.0 } else { value / level };
        }
        parameters
    }

    /// Runs the model over the series and `horizon` steps on, into `out`; clamps α..φ of
    /// `parameters` and overwrites its season factors, as 1.6.7 does. A long run asks
    /// `budget` (when given) every [`STEPS_PER_BUDGET_CHECK`] steps whether to go on.
    fn run(
        &self,
        horizon: usize,
        parameters: &mut [f64],
        out: &mut Vec<f64>,
        mut budget: Option<&mut Budget<'_>>,
    ) -> Result<(), String> {
        out.clear();
        // Into [0, 1]; NaN stays NaN, as in 1.6.7's comparisons.
        for parameter in parameters.iter_mut().take(4) {
            *parameter = parameter.clamp(0.0, 1.0);
        }
        let (alpha, beta, gamma, phi) =
            (parameters[0], parameters[1], parameters[2], parameters[PHI]);
        let mut level = parameters[LEVEL];
        let mut trend = parameters[TREND];
        let factors = &mut parameters[FIXED_PARAMETERS..];
        let m = if self.season > 0 { factors.len() } else { 0 };
        let mut value = self.value(0);
        let mut phi_sum = phi;
        let mut offset = m.saturating_sub(1);
        let (mut factor, mut factor_ahead) = (1.0, 1.0);
        out.push(value);
        let total = self.series.len().saturating_add(horizon);
        for t in 1..total {
            if t % STEPS_PER_BUDGET_CHECK == 0 {
                if let Some(budget) = budget.as_mut() {
                    budget(0)?;
                }
            }
            if m > 0 {
                factor = factors[(t + offset - m) % m];
                factor_ahead = factors[(t + t % m + offset - m) % m];
            }
            let damped_trend = phi * trend;
            let next_level = alpha * (value / factor) + (1.0 - alpha) * (level + damped_trend);
            let next_trend = beta * (next_level - level) + (1.0 - beta) * phi * trend;
            let next_factor = gamma * (value / (level + damped_trend)) + (1.0 - gamma) * factor;
            value = (next_level + phi_sum * next_trend) * factor_ahead;
            level = next_level;
            trend = next_trend;
            phi_sum += go_math::powi(phi, t as u64);
            if m > 0 {
                factors[(t + offset) % m] = next_factor;
                offset += 1;
            }
            out.push(value);
        }
        Ok(())
    }

    /// The sum of squared errors of the model run with `parameters` (infinite when it
    /// models a NaN where there is a value); mutates `parameters` as [`Model::run`] does.
    fn squared_error(&self, parameters: &mut [f64], scratch: &mut Vec<f64>) -> f64 {
        if self.run(0, parameters, scratch, None).is_err() {
            panic!("BUG: a model run without a budget cannot be stopped");
        }
        let mut sum = 0.0;
        for (modelled, actual) in scratch.iter().zip(self.series) {
            if actual.is_nan() {
                continue;
            }
            if modelled.is_nan() {
                return f64::INFINITY;
            }
            let difference = modelled - actual;
            sum += difference * difference;
        }
        sum
    }
}

/// Nelder–Mead minimisation of `objective` from `start` (1.6.7's optimiser, after Michael
/// Hutt's): the smallest value found and the point where it was found. `objective` may
/// mutate the point it evaluates; the simplex keeps the mutation.
fn nelder_mead(
    objective: &mut dyn FnMut(&mut [f64]) -> f64,
    start: &[f64],
    budget: &mut Budget<'_>,
) -> Result<(f64, Vec<f64>), String> {
    let n = start.len();
    let n_float = n as f64;
    let root = (n_float + 1.0).sqrt();
    let along = SIMPLEX_SCALE * (root - 1.0 + n_float) / (n_float * 2f64.sqrt());
    let across = SIMPLEX_SCALE * (root - 1.0) / (n_float * 2f64.sqrt());
    let mut vertices: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    vertices.push(start.to_vec());
    for i in 1..=n {
        let vertex = start
            .iter()
            .enumerate()
            .map(|(j, x)| if i - 1 == j { along + x } else { across + x })
            .collect();
        vertices.push(vertex);
    }
    let mut values: Vec<f64> = vertices.iter_mut().map(|v| objective(v)).collect();
    let mut centroid = vec![0.0; n];
    let mut reflected = vec![0.0; n];
    let mut expanded = vec![0.0; n];
    let mut contracted = vec![0.0; n];
    for _ in 0..MAX_ITERATIONS {
        budget(0)?;
        let mut worst = 0;
        let mut best = 0;
        for i in 0..=n {
            if values[i] > values[worst] {
                worst = i;
            }
            if values[i] < values[best] {
                best = i;
            }
        }
        let mut second_worst = best;
        for i in 0..=n {
            if values[i] > values[second_worst] && values[i] < values[worst] {
                second_worst = i;
            }
        }
        for (i, coordinate) in centroid.iter_mut().enumerate() {
            let mut sum = 0.0;
            for (m, vertex) in vertices.iter().enumerate() {
                if m != worst {
                    sum += vertex[i];
                }
            }
            *coordinate = sum / n_float;
        }
        for i in 0..n {
            reflected[i] = centroid[i] + REFLECTION * (centroid[i] - vertices[worst][i]);
        }
        let reflected_value = objective(&mut reflected);
        if reflected_value < values[second_worst] && reflected_value >= values[best] {
            vertices[worst].copy_from_slice(&reflected);
            values[worst] = reflected_value;
        }
        if reflected_value < values[best] {
            for i in 0..n {
                expanded[i] = centroid[i] + EXPANSION * (reflected[i] - centroid[i]);
            }
            let expanded_value = objective(&mut expanded);
            if expanded_value < reflected_value {
                vertices[worst].copy_from_slice(&expanded);
                values[worst] = expanded_value;
            } else {
                vertices[worst].copy_from_slice(&reflected);
                values[worst] = reflected_value;
            }
        }
        if reflected_value >= values[second_worst] {
            if reflected_value < values[worst] && reflected_value >= values[second_worst] {
                for i in 0..n {
                    contracted[i] = centroid[i] + CONTRACTION * (reflected[i] - centroid[i]);
                }
            } else {
                for i in 0..n {
                    contracted[i] = centroid[i] - CONTRACTION * (centroid[i] - vertices[worst][i]);
                }
            }
            let contracted_value = objective(&mut contracted);
            if contracted_value < values[worst] {
                vertices[worst].copy_from_slice(&contracted);
                values[worst] = contracted_value;
            } else {
                // Shrink towards the best vertex; only the worst two are evaluated again.
                let anchor = vertices[best].clone();
                for (row, vertex) in vertices.iter_mut().enumerate() {
                    if row != best {
                        for (x, a) in vertex.iter_mut().zip(&anchor) {
                            *x = a + (*x - a) / 2.0;
                        }
                    }
                }
                values[worst] = objective(&mut vertices[worst]);
                values[second_worst] = objective(&mut vertices[second_worst]);
            }
        }
        let mean = values.iter().fold(0.0, |sum, value| sum + value) / (n_float + 1.0);
        let mut variance = 0.0;
        for value in &values {
            variance += go_math::powi(value - mean, 2) / n_float;
        }
        if variance.sqrt() < FIT_TOLERANCE {
            break;
        }
    }
    let mut best = 0;
    for i in 0..=n {
        if values[i] < values[best] {
            best = i;
        }
    }
    let found = vertices[best].clone();
    let least = objective(&mut vertices[best]);
    Ok((least, found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SECOND: i64 = 1_000_000_000;
    /// 2026-11-01T00:00:00Z, the start of the golden corpus' `gen` data.
    const START: i64 = 1_793_491_200 * SECOND;
    const INTERVAL: i64 = 20 * SECOND;

    fn unlimited(_: u64) -> Result<(), String> {
        Ok(())
    }

    fn windows(values: &[Option<f64>]) -> Vec<(i64, f64)> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (START + i as i64 * INTERVAL, v)))
            .collect()
    }

    fn spec(forecast_count: i64, season_length: i64, with_fit: bool) -> HoltWintersSpec {
        HoltWintersSpec {
            forecast_count,
            season_length,
            with_fit,
        }
    }

    fn values(answer: &[(i64, f64)]) -> Vec<f64> {
        answer.iter().map(|(_, v)| *v).collect()
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

    /// `gen` host a, mean(f) per 20 s (tests/golden/query,
    /// `gen-func/holt-winters-with-fit/float/by-time-tag`).
    const HOST_A: [Option<f64>; 6] = [
        Some(11.25),
        Some(13.125),
        Some(13.75),
        Some(17.375),
        Some(18.75),
        Some(20.125),
    ];

    #[test]
    fn forecasts_match_influxdb_bit_for_bit() {
        let answer = forecast(
            &spec(3, 0, true),
            &windows(&HOST_A),
            INTERVAL,
            &mut unlimited,
        )
        .expect("no budget");
        assert_eq!(
            values(&answer),
            vec![
                11.25,
                12.626851450535097,
                14.681883375534698,
                16.78845030453285,
                18.680418351058098,
                20.271196956320832,
                21.55851053817758,
                22.575395961538334,
                23.365879190436953
            ]
        );
        let times: Vec<i64> = answer.iter().map(|(t, _)| (t - START) / INTERVAL).collect();
        assert_eq!(times, (0..9).collect::<Vec<i64>>());
        let forecast_only = forecast(
            &spec(3, 0, false),
            &windows(&HOST_A),
            INTERVAL,
            &mut unlimited,
        )
        .expect("no budget");
        assert_eq!(forecast_only, answer[6..].to_vec());
    }

    #[test]
    fn seasons_and_gaps_match_influxdb() {
        let seasonal = forecast(
            &spec(2, 2, true),
            &windows(&HOST_A),
            INTERVAL,
            &mut unlimited,
        )
        .expect("no budget");
        assert_eq!(
            values(&seasonal),
            vec![
                11.25,
                13.061714470632246,
                14.073822370782128,
                17.24120307993161,
                18.600778867547277,
                20.247335497460053,
                23.056242482147965,
                22.468885163416296
            ]
        );
        // Host b: no value at 00:01:00 (`gen-func/holt-winters-with-fit/float/by-time-tag`).
        let host_b = [
            Some(29.25),
            Some(33.0),
            Some(33.5),
            None,
            Some(26.75),
            Some(32.5),
        ];
        let with_gap = forecast(
            &spec(3, 0, true),
            &windows(&host_b),
            INTERVAL,
            &mut unlimited,
        )
        .expect("no budget");
        assert_eq!(
            values(&with_gap)[..4],
            [
                29.25,
                31.436483563323154,
                31.440543772807416,
                31.440551104965774
            ]
        );
    }

    #[test]
    fn too_little_or_descending_data_forecasts_nothing() {
        let one = windows(&[Some(1.0)]);
        assert!(forecast(&spec(3, 0, false), &one, INTERVAL, &mut unlimited)
            .expect("no budget")
            .is_empty());
        let mut descending = windows(&HOST_A);
        descending.reverse();
        assert!(
            forecast(&spec(3, 0, false), &descending, INTERVAL, &mut unlimited)
                .expect("no budget")
                .is_empty()
        );
        // A season longer than the data.
        assert!(forecast(
            &spec(3, 7, false),
            &windows(&HOST_A),
            INTERVAL,
            &mut unlimited
        )
        .expect("no budget")
        .is_empty());
    }

    #[test]
    fn the_budget_is_asked_before_allocating() {
        let mut refuse_large = |bytes: u64| {
            if bytes > 1 << 20 {
                Err(format!("refused {bytes}"))
            } else {
                Ok(())
            }
        };
        let huge = spec(1_000_000_000, 0, false);
        let refused = forecast(&huge, &windows(&HOST_A), INTERVAL, &mut refuse_large);
        assert!(refused.is_err_and(|e| e.starts_with("refused")));
        let mut stop = |_: u64| Err("killed".to_string());
        assert_eq!(
            forecast(&spec(3, 0, false), &windows(&HOST_A), INTERVAL, &mut stop),
            Err("killed".to_string())
        );
    }

    #[test]
    fn nelder_mead_finds_a_minimum() {
        let mut bowl = |x: &mut [f64]| (x[0] - 3.0).powi(2) + (x[1] + 1.0).powi(2);
        let (least, at) = nelder_mead(&mut bowl, &[0.0, 0.0], &mut unlimited).expect("no budget");
        // It stops once its values agree within 1e-4, not at the minimum itself.
        assert!(least < 1e-2, "{least}");
        assert!(
            (at[0] - 3.0).abs() < 0.1 && (at[1] + 1.0).abs() < 0.1,
            "{at:?}"
        );
    }

    #[test]
    fn arguments_are_checked_as_influxdb_does() {
        let check = |text: &str, interval: i64| {
            let call = call(text);
            let with_fit = HoltWintersSpec::with_fit_of(&call.name).expect("holt_winters");
            HoltWintersSpec::resolve(with_fit, &call, interval)
        };
        let cases = [
            (
                "holt_winters(f)",
                0,
                "invalid number of arguments for holt_winters, expected 3, got 1",
            ),
            (
                "holt_winters(mean(f), 'x', 0)",
                INTERVAL,
                "expected integer argument as second arg in holt_winters",
            ),
            (
                "holt_winters(mean(f), 0, 0)",
                0,
                "second arg to holt_winters must be greater than 0, got 0",
            ),
            (
                "holt_winters_with_fit(mean(f), 3, -1)",
                INTERVAL,
                "third arg to holt_winters_with_fit cannot be negative, got -1",
            ),
            (
                "holt_winters(1, 3, 0)",
                INTERVAL,
                "must use aggregate function with holt_winters",
            ),
            (
                "holt_winters(mean(f), 3, 0)",
                0,
                "holt_winters aggregate requires a GROUP BY interval",
            ),
        ];
        for (text, interval, expected) in cases {
            assert_eq!(check(text, interval), Err(expected.to_string()), "{text}");
        }
        assert_eq!(
            check("holt_winters_with_fit(max(i), 4, 2)", INTERVAL),
            Ok(spec(4, 2, true))
        );
    }

    proptest! {
        // Each case fits 16 times: fewer cases keep the debug build's test quick.
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn forecasts_follow_the_last_point(
            series in proptest::collection::vec(proptest::option::of(1.0f64..100.0), 2..12),
            count in 1i64..8,
            with_fit: bool,
        ) {
            let points = windows(&series);
            let answer = forecast(&spec(count, 0, with_fit), &points, INTERVAL, &mut unlimited)
                .expect("no budget");
            let (Some(first), Some(last)) = (points.first(), points.last()) else {
                return Ok(());
            };
            // Without fit: last + 1..=N intervals; with fit: first + 0..span+N intervals.
            let (origin, first_step, last_step) = if with_fit {
                (first.0, 0, (last.0 - first.0) / INTERVAL + count)
            } else {
                (last.0, 1, count)
            };
            let mut previous_step = first_step - 1;
            for (time, value) in &answer {
                prop_assert!(!value.is_nan());
                prop_assert_eq!((time - origin) % INTERVAL, 0);
                let step = (time - origin) / INTERVAL;
                prop_assert!(step > previous_step && step <= last_step);
                previous_step = step;
            }
        }
    }
}
