//! A scan's voxel values, held at the narrowest type that keeps every one exactly: whole numbers
//! within int16 (every CT in Hounsfield units, every 8-bit export) as `i16`, anything else as
//! `f32`. A 600-slice chest CT is then 300 MB in the page, not 600 MB, and nothing downstream
//! sees the difference: values are read as f32, a slice at a time.

use std::borrow::Cow;
use std::ops::Range;

#[derive(Clone)]
pub enum Voxels {
    I16(Vec<i16>),
    F32(Vec<f32>),
}

/// The value as i16 when that loses nothing (−0.0 included: it reads back as 0.0, which compares
/// equal).
fn narrow(v: f32) -> Option<i16> {
    let n = v as i16;
    (n as f32 == v).then_some(n)
}

impl Voxels {
    /// An empty store expecting `n` values (reserved as i16, the common case).
    pub fn with_capacity(n: usize) -> Self {
        Voxels::I16(Vec::with_capacity(n))
    }

    /// Appends values; the first one i16 cannot hold turns the store into f32 (once).
    pub fn extend_from_slice(&mut self, values: &[f32]) {
        if let Voxels::I16(v) = self {
            let start = v.len();
            v.extend(values.iter().map_while(|&x| narrow(x)));
            let done = v.len() - start;
            if done == values.len() {
                return;
            }
            let mut wide = Vec::with_capacity(v.capacity().max(v.len() + values.len()));
            wide.extend(v.iter().map(|&x| f32::from(x)));
            *self = Voxels::F32(wide);
            return self.extend_from_slice(&values[done..]);
        }
        if let Voxels::F32(v) = self {
            v.extend_from_slice(values);
        }
    }

    /// Appends another store's values.
    pub fn extend(&mut self, other: &Voxels) {
        match (&mut *self, other) {
            (Voxels::I16(v), Voxels::I16(o)) => v.extend_from_slice(o),
            (Voxels::F32(v), Voxels::I16(o)) => v.extend(o.iter().map(|&x| f32::from(x))),
            (_, Voxels::F32(o)) => self.extend_from_slice(o),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Voxels::I16(v) => v.len(),
            Voxels::F32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i`.
    pub fn get(&self, i: usize) -> f32 {
        match self {
            Voxels::I16(v) => f32::from(v[i]),
            Voxels::F32(v) => v[i],
        }
    }

    /// Values `range` as f32: borrowed when stored as f32, converted (one slice's worth) when not.
    pub fn range(&self, range: Range<usize>) -> Cow<'_, [f32]> {
        match self {
            Voxels::I16(v) => Cow::Owned(v[range].iter().map(|&x| f32::from(x)).collect()),
            Voxels::F32(v) => Cow::Borrowed(&v[range]),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        match self {
            Voxels::I16(v) => Iter::I16(v.iter()),
            Voxels::F32(v) => Iter::F32(v.iter()),
        }
    }

    pub fn to_vec(&self) -> Vec<f32> {
        self.iter().collect()
    }

    /// Bytes the values take in memory.
    pub fn bytes(&self) -> usize {
        match self {
            Voxels::I16(v) => v.len() * 2,
            Voxels::F32(v) => v.len() * 4,
        }
    }

    /// The values' type in memory ("int16" or "float32").
    pub fn held_as(&self) -> &'static str {
        match self {
            Voxels::I16(_) => "int16",
            Voxels::F32(_) => "float32",
        }
    }
}

impl From<Vec<f32>> for Voxels {
    /// Narrows to i16 when every value fits; otherwise keeps the vector as it is.
    fn from(values: Vec<f32>) -> Self {
        if values.iter().all(|&v| narrow(v).is_some()) {
            Voxels::I16(values.iter().map(|&v| v as i16).collect())
        } else {
            Voxels::F32(values)
        }
    }
}

impl<'a> IntoIterator for &'a Voxels {
    type Item = f32;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Equal when the values are, whatever type holds them.
impl PartialEq for Voxels {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for Voxels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} values", self.len(), self.held_as())
    }
}

/// The values in order, as f32.
pub enum Iter<'a> {
    I16(std::slice::Iter<'a, i16>),
    F32(std::slice::Iter<'a, f32>),
}

impl Iterator for Iter<'_> {
    type Item = f32;

    #[inline]
    fn next(&mut self) -> Option<f32> {
        match self {
            Iter::I16(it) => it.next().map(|&x| f32::from(x)),
            Iter::F32(it) => it.next().copied(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Iter::I16(it) => it.size_hint(),
            Iter::F32(it) => it.size_hint(),
        }
    }

    fn nth(&mut self, n: usize) -> Option<f32> {
        match self {
            Iter::I16(it) => it.nth(n).map(|&x| f32::from(x)),
            Iter::F32(it) => it.nth(n).copied(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_stay_int16_until_one_does_not_fit() {
        let mut v = Voxels::with_capacity(6);
        v.extend_from_slice(&[-1024.0, 0.0, 3071.0]);
        assert_eq!(v.held_as(), "int16");
        v.extend_from_slice(&[5.0, 0.5, 7.0]);
        assert_eq!(v.held_as(), "float32");
        assert_eq!(v.to_vec(), [-1024.0, 0.0, 3071.0, 5.0, 0.5, 7.0]);
        let mut big = Voxels::from(vec![1.0, 2.0]);
        big.extend_from_slice(&[40000.0]);
        assert_eq!(big.to_vec(), [1.0, 2.0, 40000.0]);
        assert_eq!(Voxels::from(vec![-32768.0, 32767.0]).held_as(), "int16");
        assert_eq!(Voxels::from(vec![f32::NAN]).held_as(), "float32");
    }

    #[test]
    fn equal_by_value_and_read_by_range() {
        let a = Voxels::from(vec![1.0, 2.0, 3.0]);
        let b = Voxels::F32(vec![1.0, 2.0, 3.0]);
        assert_eq!(a, b);
        assert_eq!(&*a.range(1..3), &[2.0, 3.0]);
        assert_eq!(a.iter().step_by(2).collect::<Vec<_>>(), [1.0, 3.0]);
        let mut c = b.clone();
        c.extend(&a);
        assert_eq!(c.len(), 6);
        assert_eq!(a.bytes(), 6);
    }
}
