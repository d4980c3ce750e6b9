//! Summary statistics shared by the ratio table, the charts and the benchmark report: one
//! median, one [`Stat`] (median, minimum, maximum, count).

pub mod compare;
pub mod series;

/// Median, minimum, maximum and count of a group of measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Median.
    pub median: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// How many values.
    pub n: usize,
}

/// The median of `v` (sorted in place; NaN-free input), or `None` if empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// The [`Stat`] of `values`, or `None` if there are none.
pub fn stat(mut values: Vec<f64>) -> Option<Stat> {
    let median = median(&mut values)?;
    Some(Stat {
        median,
        min: values[0],
        max: values[values.len() - 1],
        n: values.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_groups_and_the_spread() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        let s = stat(vec![5.0, 1.0, 9.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (3.5, 1.0, 9.0, 4));
    }
}
