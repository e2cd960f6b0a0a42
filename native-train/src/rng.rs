//! A small seeded generator (SplitMix64): splits, shuffles and augmentation are reproducible
//! from one seed without pulling in a dependency.

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    pub fn coin(&mut self, p: f32) -> bool {
        self.unit() < p
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u = self.unit().max(1e-7);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// Which of `n` items epoch `epoch` (1-based) draws, `per_epoch` of them: consecutive runs of a
/// permutation seeded by `seed` (one per pass over the items), so every item is drawn once
/// before any is drawn again, and a resumed run draws the same ones.
pub fn epoch_draw(n: usize, epoch: usize, per_epoch: usize, seed: u64) -> Vec<usize> {
    let order = |cycle: usize| {
        let mut order: Vec<usize> = (0..n).collect();
        Rng::new(seed ^ cycle as u64).shuffle(&mut order);
        order
    };
    let first = (epoch - 1) * per_epoch;
    let mut cycle = (first / n, order(first / n));
    (first..first + per_epoch)
        .map(|pos| {
            if pos / n != cycle.0 {
                cycle = (pos / n, order(pos / n));
            }
            cycle.1[pos % n]
        })
        .collect()
}
